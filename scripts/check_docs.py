"""Offline docs check: nbdev's own docs processing of every notebook, then HTML with nbconvert.

`nbdev_docs` runs exactly this processing (`proc_nbs`) before handing `_proc/` to Quarto. Quarto
cannot be installed everywhere, so this renders each processed notebook with `jupyter nbconvert`
instead and fails on any error: a processing error, a `show_doc` that raises, an error output
stored in a notebook, a notebook without a title, or a failed HTML conversion.
"""
import json, subprocess, sys
from pathlib import Path

def main():
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__()
    cache = proc_nbs(force=True, n_workers=1)
    nbs = sorted(p for p in Path(cache).glob('*.ipynb'))
    want = sorted(p.name for p in cfg.nbs_path.glob('*.ipynb') if not p.name.startswith('_'))
    got = [p.name for p in nbs]
    problems = [f"{n}: not processed" for n in want if n not in got]
    out = Path(cache)/'_html'
    for nb in nbs:
        d = json.loads(nb.read_text())
        errs = [c for c in d['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
        if errs: problems.append(f"{nb.name}: {len(errs)} cell(s) with a stored error output")
        import re
        for c in d['cells']:
            if c['cell_type'] != 'markdown': continue
            for ref in re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', ''.join(c['source'])):
                if '://' not in ref and not (Path(cache)/ref).exists(): problems.append(f"{nb.name}: image {ref} does not exist")
        first = ''.join(d['cells'][0]['source']) if d['cells'] else ''
        if 'title:' not in first and not first.lstrip().startswith('# '):
            problems.append(f"{nb.name}: no title")
        r = subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'html', '--log-level', 'ERROR',
                            '--output-dir', str(out), str(nb)], capture_output=True, text=True)
        html = out/(nb.stem + '.html')
        if r.returncode or not html.exists() or html.stat().st_size == 0:
            problems.append(f"{nb.name}: nbconvert failed: {r.stderr.strip()[-2000:]}")
        else: print(f"ok  {nb.name} -> {html} ({html.stat().st_size // 1024} KiB)")
    if problems:
        print('docs check failed:\n  ' + '\n  '.join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"docs check passed: {len(nbs)} notebooks processed by nbdev and rendered to HTML")

if __name__ == '__main__': main()
