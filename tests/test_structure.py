"""The package's shape: one room per concern (no private imports across modules, evaluation without training,
a model file without config loading or CLIs), small cells and functions, and no helper written twice."""
import ast, importlib, inspect, json, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

PKG = ROOT/'vae_celeba'
MODULES = {p.stem: ast.parse(p.read_text()) for p in PKG.glob('*.py') if p.stem not in ('_modidx', '__init__')}

def imports(tree):
    "(module, name) for every `from vae_celeba.X import name` / `from .X import name` in a module."
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (node.level or node.module.startswith('vae_celeba')):
            mod = node.module.removeprefix('vae_celeba.').lstrip('.')
            out += [(mod, a.name) for a in node.names]
    return out

def test_no_private_names_across_modules():
    bad = [(m, mod, n) for m, t in MODULES.items() for mod, n in imports(t) if n.startswith('_')]
    assert not bad, f"modules import another module's private names: {bad}"

def test_import_graph():
    deps = {m: {mod for mod, _ in imports(t)} for m, t in MODULES.items()}
    assert 'training' not in deps['evaluation'], "evaluation must not import training (the run folder lives in vae_celeba.run)"
    names = {n for _, n in imports(MODULES['model'])}
    assert not names & {'load_config', 'run_cli', 'config_keys_help', 'resolve_device', 'Param'}, names
    assert 'cli' not in deps['model'] and 'summary' not in deps['model']

def functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)): yield node

def statements(node) -> int:
    "Statements inside `node` (not counting a def's own line): the length of code, whatever its line breaks."
    return sum(isinstance(n, ast.stmt) for n in ast.walk(node)) - isinstance(node, ast.stmt)

def test_functions_are_short():
    long = [(m, f.name, statements(f)) for m, t in MODULES.items() for f in functions(t) if statements(f) > 30]
    assert not long, f"functions over 30 statements: {long}"

def exported_cells():
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] == 'code' and src.startswith('#| export'): yield nb.name, src

def test_exported_cells_are_short():
    long = [(nb, src.splitlines()[1][:60], n) for nb, src in exported_cells() if (n := statements(ast.parse(src))) > 30]
    assert not long, f"exported cells over 30 statements: {long}"

def test_statement_count():
    "The size rules count statements: a formatter's line breaks do not change them, joining with `;` does not hide any."
    assert statements(ast.parse('x = 1; y = 2\nif x: y = 3')) == 4
    f = ast.parse('def f(a,\n      b):\n    return (a +\n            b)').body[0]
    assert statements(f) == 1

def test_lines_a_reader_can_take_in():
    "ruff, on the exported cells (scripts/lint.py): lines of at most 110 characters, no statements joined by `;`."
    r = subprocess.run([sys.executable, str(ROOT/'scripts'/'lint.py')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

def test_lint_finds_long_lines_and_semicolons_in_exported_cells_only(tmp_path):
    cell = lambda src: dict(cell_type='code', source=src, metadata={}, outputs=[], execution_count=None)
    long = 'x = ' + repr('a' * 120)
    nb = dict(nbformat=4, nbformat_minor=5, metadata={}, cells=[cell('#| export\na = 1; b = 2\n' + long), cell(long + '\nc = 1; d = 2')])
    (tmp_path/'99_bad.ipynb').write_text(json.dumps(nb))
    r = subprocess.run([sys.executable, str(ROOT/'scripts'/'lint.py'), str(tmp_path/'99_bad.ipynb')], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and '99_bad.ipynb:cell 1:2:6: E702' in r.stdout and '99_bad.ipynb:cell 1:3:111: E501' in r.stdout, r.stdout
    assert 'cell 2' not in r.stdout, r.stdout

def test_docments_are_one_line():
    "The docs put each parameter's docment in one table cell: a docment spread over comment lines would break it."
    from fastcore.docments import docments
    import vae_celeba.config as config
    multi = [(k, v) for k, v in config.config_docs().items() if v and '\n' in v]
    for m in MODULES:
        mod = importlib.import_module(f'vae_celeba.{m}')
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            for t in [obj] + ([v for v in vars(obj).values() if inspect.isfunction(v)] if inspect.isclass(obj) else []):
                if not inspect.isfunction(t) and not inspect.isclass(t): continue
                try: docs = docments(t)
                except OSError: continue   # no source: a method that dataclass wrote
                multi += [(f'{m}.{name}', k) for k, v in docs.items() if v and '\n' in v]
    assert not multi, f"docments over several comment lines: {multi}"

def test_no_formula_written_twice():
    "The seeded-generator formula and the Gaussian KL live in one place each."
    text = {m: (PKG/f'{m}.py').read_text() for m in MODULES}
    assert [m for m, t in text.items() if '1_000_003' in t] == ['core']
    kl = re.compile(r'logvar[^\n]*\.exp\(\)\s*-\s*1')
    assert [m for m, t in text.items() if kl.search(t)] == ['losses']

def test_public_symbols_have_docs():
    "Every exported public symbol has a show_doc in its notebook."
    missing = []
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        cells = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        m = re.search(r'#\| default_exp (\w+)', '\n'.join(cells))
        if not m or m.group(1) not in MODULES: continue
        shown = {n.split('.')[-1] for n in re.findall(r'show_doc\(([\w.]+)', '\n'.join(cells))}
        for node in MODULES[m.group(1)].body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith('_') and node.name not in shown:
                missing.append(f"{nb.name}: {node.name}")
    assert not missing, f"public symbols without show_doc: {missing}"

def test_show_doc_cells_hold_nothing_else():
    "nbdev's docs build runs every cell that calls show_doc on its own: one that also tests needs the notebook's state and fails there."
    mixed = [(nb.name, src.splitlines()[0][:50]) for nb in sorted((ROOT/'nbs').glob('*.ipynb'))
             for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code'
             for src in [''.join(c['source'])] if 'show_doc(' in src and not src.startswith('#|')
             and any(l.strip() and not l.startswith('show_doc(') for l in src.splitlines())]
    assert not mixed, f"cells that mix show_doc with other code: {mixed}"
