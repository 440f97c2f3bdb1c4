"""Write README.md from nbs/index.ipynb (markdown, code and stored outputs); `--check` fails if it is stale.

With Quarto installed, `nbdev_readme` renders the same notebook; this keeps README.md right without it.
"""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, not this file -->\n\n"

def render() -> str:
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    nb.metadata['language_info'] = {'name': 'python'} # nbdev_clean drops it; it names the code blocks
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = body.replace('](images/', '](nbs/images/')       # images live beside the notebooks; README.md is one level up
    body = re.sub(r'\]\((\w[\w-]*\.ipynb)', r'](nbs/\1', body)   # so do the notebooks (the docs site turns these links into its pages)
    return HEADER + body.strip() + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python scripts/make_readme.py` and commit it")
        print("README.md matches nbs/index.ipynb")
    else:
        readme.write_text(text); print(f"wrote {readme}")
