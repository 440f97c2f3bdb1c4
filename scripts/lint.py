"""Lines a reader can take in: ruff on the package's source, which is the exported cells of nbs/*.ipynb.

Each notebook is copied with its other code cells emptied (the cells keep their numbers), ruff checks the copies
with the rules of pyproject.toml ([tool.ruff]), and its findings are printed with the notebook's own path and cell.
`python scripts/lint.py [NOTEBOOK ...]` (default: every notebook in nbs/). Exit status: ruff's (0 when every exported line is at most 110 characters and no statements are joined by `;`)."""
import json, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def exported_only(nb: Path, dest: Path):
    "A copy of notebook `nb` at `dest` in which only the `#| export` cells keep their code."
    d = json.loads(nb.read_text())
    for c in d['cells']:
        if c['cell_type'] == 'code' and not ''.join(c['source']).startswith('#| export'): c['source'] = []
    dest.write_text(json.dumps(d))

def main(notebooks: list[Path]) -> int:
    ruff = shutil.which('ruff', path=str(Path(sys.executable).parent)) or shutil.which('ruff')
    if ruff is None:
        print("lint: ruff is not installed here: pip install -e '.[dev]' (it is among the dev requirements)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        copies = Path(tmp)/'nbs'
        copies.mkdir()
        for nb in notebooks: exported_only(nb, copies/nb.name)
        r = subprocess.run([ruff, 'check', '--config', str(ROOT/'pyproject.toml'), '--output-format', 'concise',
                            '--no-cache', str(copies)], capture_output=True, text=True)
        out = r.stdout + r.stderr
        for nb in notebooks: out = out.replace(str(copies/nb.name), str(nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb))
        print(out.rstrip())
    return r.returncode

if __name__ == '__main__':
    nbs = [Path(a).resolve() for a in sys.argv[1:]] or sorted((ROOT/'nbs').glob('*.ipynb'))
    sys.exit(main(nbs))
