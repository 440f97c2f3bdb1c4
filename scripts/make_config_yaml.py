"""Write configs/config.yaml from the defaults of vae_celeba.config.Config (the design's run), so the two cannot drift.
  python scripts/make_config_yaml.py           write it
  python scripts/make_config_yaml.py --check   exit 1 if the file differs from what it would write"""
import sys
from pathlib import Path
from vae_celeba.cli import default_config_yaml

path = Path(__file__).resolve().parents[1]/'configs'/'config.yaml'
text = default_config_yaml()
if '--check' in sys.argv:
    if path.read_text() != text: sys.exit(f"{path} differs from Config(): run python scripts/make_config_yaml.py")
else: path.write_text(text); print(f"wrote {path}")
