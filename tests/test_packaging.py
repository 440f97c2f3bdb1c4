"""pyproject.toml (for uv and other PEP 517 tools) and setup.py build the same package from settings.ini: a wheel built
through the PEP 517 backend, offline, carries settings.ini's name, version, requirements, extras and commands."""
import configparser, subprocess, sys, zipfile
from email.parser import Parser
import pytest, tomllib
from conftest import ROOT

def settings():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini'); return cfg['DEFAULT']

def test_pyproject_names_the_package_and_leaves_the_rest_to_settings_ini():
    p = tomllib.loads((ROOT/'pyproject.toml').read_text())
    assert p['project']['name'] == settings()['lib_name'] and p['build-system']['build-backend'] == 'setuptools.build_meta'
    assert {'version', 'dependencies', 'optional-dependencies', 'scripts'} <= set(p['project']['dynamic'])
    assert p['project']['requires-python'] == '>=' + settings()['min_python']

def test_wheel_metadata_matches_settings_ini(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    whl = next(tmp_path.glob('vae_celeba-*.whl'))
    with zipfile.ZipFile(whl) as z:
        info = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        meta = Parser().parsestr(z.read(info).decode())
        eps = z.read(info.replace('METADATA', 'entry_points.txt')).decode()
    s = settings()
    assert (meta['Name'], meta['Version'], meta['Requires-Python']) == (s['lib_name'], s['version'], '>=' + s['min_python'])
    reqs = meta.get_all('Requires-Dist')
    base = [r for r in reqs if 'extra ==' not in r]
    from packaging.requirements import Requirement
    norm = lambda r: (Requirement(r).name.lower(), str(sorted(str(x) for x in Requirement(r).specifier)))
    assert sorted(map(norm, base)) == sorted(map(norm, s['requirements'].split()))
    for extra in ('dev', 'metrics'):
        got = sorted(norm(r) for r in reqs if f'extra == "{extra}"' in r)
        assert got == sorted(map(norm, s[f'{extra}_requirements'].split())), extra
    for script in s['console_scripts'].split():
        name, target = script.split('=')
        assert f'{name} = {target}' in eps, script

def test_uv_and_pip_install_the_same_torch():
    "README's pip lines pin torch and torchvision; uv (pyproject's [tool.uv]) must resolve the same ones, not the newest."
    import re, tomllib
    pins = set(re.findall(r'(torch(?:vision)?==[\w.]+)', (ROOT/'README.md').read_text()))
    uv = set(tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['uv']['constraint-dependencies'])
    assert pins and pins == uv, (pins, uv)
