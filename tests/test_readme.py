"""README.md as a new user follows it: its relative links point at files that exist, and every shell line of its Getting
CelebA and Training sections runs as typed after the set-up command, in a fresh copy of the repository, from a plain shell
(no activated venv)."""
import os, re, shutil, subprocess
import pytest
from conftest import ROOT, SHARED_SAMPLE

README = (ROOT/'README.md').read_text()
# appended (before a line's comment) where a line would train for long: seconds instead of hours, nothing downloaded
TINY = ['dataset=synthetic', 'synthetic_size=200', 'max_steps=2', 'compile=off', 'use_perceptual=false', 'prior_images=50',
        'num_workers=0', 'batch_size=8', 'iw_samples=4']

def section(title:str) -> str:
    m = re.search(rf'^## {re.escape(title)}\n(.*?)(?=^## |\Z)', README, re.S | re.M)
    assert m, f"README.md has no section '## {title}'"
    return m.group(1)

def shell_lines(text:str) -> list[str]:
    return [l for block in re.findall(r'```sh\n(.*?)```', text, re.S) for l in block.splitlines() if l.strip()]

def with_tiny(line:str) -> str:
    cmd, sep, comment = line.partition(' #')
    trains = any(k in cmd for k in ('vae_celeba_train --config', 'scripts/train.sh', 'torchrun'))
    return f"{cmd.rstrip()} {' '.join(TINY)}{sep}{comment}" if trains else line

def test_readme_links_point_into_the_repository():
    targets = [t for t in re.findall(r'\]\(([^)\s]+)\)', README) if '://' not in t and not t.startswith('#')]
    assert targets, "README.md has no relative links: the notebook table is missing"
    missing = [t for t in targets if not (ROOT/t.split('#')[0]).exists()]
    assert not missing, f"README.md links to files that are not in the repository: {missing}"

def test_readme_commands_use_the_venv():
    "Set-up installs into .venv and activates nothing: every project command in the sections must be typed with .venv/bin/."
    bare = [l for s in ('Getting CelebA', 'Training', 'Changing the code') for l in shell_lines(section(s))
            if re.match(r'(vae_celeba_\w+|torchrun|python|jupyter|nbdev_\w+)\b', l)]
    assert not bare, f"README.md lines that a plain shell cannot run: {bare}"

@pytest.mark.skipif(not (ROOT/'.venv'/'bin'/'vae_celeba_train').exists(), reason="the set-up command's .venv is not here")
def test_readme_lines_run_as_typed(tmp_path):
    repo = tmp_path/'vae_celeba'                                  # the files a clone would have (committed or about to be)
    ls = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], cwd=ROOT,
                        capture_output=True, text=True, check=True).stdout
    for f in filter(None, ls.split('\0')):
        if (ROOT/f).is_file():
            (repo/f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT/f, repo/f)
    (repo/'.venv').symlink_to(ROOT/'.venv')                       # what the set-up command made
    if SHARED_SAMPLE.is_dir():                                    # CelebA placed by hand in data/celeba, as README says
        (repo/'data').mkdir()
        (repo/'data'/'celeba').symlink_to(SHARED_SAMPLE)
    venv_bin = str(ROOT/'.venv'/'bin')
    env = {k: v for k, v in os.environ.items() if k != 'VIRTUAL_ENV'}
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep) if p.rstrip('/') != venv_bin)
    lines = shell_lines(section('Getting CelebA')) + shell_lines(section('Training'))
    assert len(lines) >= 10, lines
    ran = []
    for line in lines:
        if 'HOST:' in line: continue                                # the two-machine torchrun line needs a second machine
        if 'vae_celeba_prepare' in line and not SHARED_SAMPLE.is_dir(): continue   # needs CelebA in data/celeba
        r = subprocess.run(['bash', '-c', with_tiny(line)], cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0 and 'Traceback' not in r.stderr, f"README line failed as typed:\n{line}\n{r.stdout[-1500:]}\n{r.stderr[-3000:]}"
        ran.append(line)
    assert any('vae_celeba_evaluate' in l or 'evaluate.sh' in l for l in ran) and any('--resume' in l for l in ran)
    for f in ('outputs/demo/checkpoints/best.pt', 'outputs/demo/metrics.json', 'outputs/checkpoints/last.pt', 'outputs/short/logs/train.log'):
        assert (repo/f).exists(), f"after README's lines, {f} is missing"
