"""The YAML files in configs/ load, and config.yaml is the built-in default run (so the two cannot drift apart)."""
from dataclasses import fields
import subprocess
import pytest, yaml
from conftest import ROOT, console_script
from vae_celeba.config import Config, load_config

CONFIGS = sorted((ROOT/'configs').glob('*.yaml'))

@pytest.mark.parametrize('path', CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_loads(path):
    assert isinstance(load_config(path), Config)

def test_config_yaml_is_the_default_run():
    path = ROOT/'configs'/'config.yaml'
    from vae_celeba.cli import default_config_yaml
    assert path.read_text() == default_config_yaml(), "configs/config.yaml differs from Config(): run python scripts/make_config_yaml.py"
    assert set(yaml.safe_load(path.read_text())) == {f.name for f in fields(Config)}, "config.yaml should list every key"
    assert load_config(path) == Config()

@pytest.mark.parametrize('command', ['vae_celeba_train', 'vae_celeba_prepare', 'vae_celeba_summary'])
def test_help_lists_every_setting(command):
    "`--help` of each command that takes key=value settings names every config key with its default."
    out = subprocess.run([console_script(command), '--help'], capture_output=True, text=True, check=True).stdout
    assert out.startswith(f'usage: {command} ')
    for f in fields(Config): assert f"\n  {f.name}={f.default if f.default != '' else repr('')}  (" in out, f"{f.name} missing"
    assert "\n  dataset=celeba  (str) a name in `vae_celeba.data.DATASETS`: celeba (from `data_dir`), or synthetic\n" in out
