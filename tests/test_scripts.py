"""The scripts chain as the design shows (train.sh, then evaluate.sh), with or without an activated venv; the design's
resume example finds checkpoint_epoch_N.pt of an earlier epoch; nbdev's CI and docs workflows are there and well-formed."""
import json, os, subprocess
from pathlib import Path
import pytest, torch, yaml
from conftest import ROOT

def sh(script, *args, cwd=ROOT, activated=False):
    env = dict(os.environ)
    if not activated: env.pop('VIRTUAL_ENV', None)   # the scripts find .venv/bin on their own
    return subprocess.run(['bash', str(ROOT/'scripts'/script), *args], cwd=cwd, capture_output=True, text=True, timeout=900, env=env)

TINY = ['synthetic_size=120', 'latent_dim=16', 'base_channels=8', 'batch_size=16', 'precision=fp32', 'compile=off',
        'num_workers=0', 'keep_last=1', 'keep_every=2']

def test_train_then_evaluate_then_resume_an_earlier_epoch(tmp_path):
    out = tmp_path/'demo'
    r = sh('train.sh', 'configs/demo.yaml', *TINY, 'epochs=3', f'output_dir={out}', f'cache_dir={tmp_path}/cache')
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (out/'checkpoints').glob('checkpoint_epoch_*.pt')) == ['checkpoint_epoch_2.pt', 'checkpoint_epoch_3.pt']
    r = sh('evaluate.sh', str(out), '--bpd-images', '4', '--fid-images', '0', activated=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((out/'metrics.json').read_text())['epoch'] >= 1
    # the design's example: resume from an earlier epoch's checkpoint (here 2 of 3) and train on
    r = sh('train.sh', '--resume', str(out/'checkpoints'/'checkpoint_epoch_2.pt'), 'epochs=4')
    assert r.returncode == 0, r.stderr[-2000:]
    assert torch.load(out/'checkpoints'/'last.pt', weights_only=True)['epoch'] == 4

def test_evaluate_with_nothing_to_evaluate(tmp_path):
    r = sh('evaluate.sh', str(tmp_path/'nothing'))
    assert r.returncode == 1 and 'there is nothing to evaluate' in r.stderr and 'bash scripts/train.sh' in r.stderr, r.stderr

def test_workflows_parse():
    "nbdev's two workflows: the tests (README's test command) and the Quarto docs on GitHub Pages."
    wf = ROOT/'.github'/'workflows'
    test, deploy = (yaml.safe_load((wf/f).read_text()) for f in ('test.yaml', 'deploy.yaml'))
    steps = [s for job in test['jobs'].values() for s in job['steps']]
    assert any('bash scripts/test.sh' in s.get('run', '') for s in steps), "the workflow runs README's test command"
    assert any('torch==2.14.1' in s.get('run', '') for s in steps)
    dsteps = [s for job in deploy['jobs'].values() for s in job['steps']]
    assert any('quarto-ghp' in s.get('uses', '') for s in dsteps) and deploy['permissions']['contents'] == 'write'
    assert True in test and True in deploy   # YAML 1.1 reads the key `on` as True: both have triggers

@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here: bench/gpu_check.sh would run its checks, not skip')
def test_gpu_check_skips_in_one_line_without_cuda():
    r = subprocess.run(['bash', str(ROOT/'bench'/'gpu_check.sh')], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines() == ["gpu_check: no CUDA device here (torch.cuda.is_available() is False): skipped; "
                                             "run it on a machine with a GPU"], r.stdout + r.stderr

def test_test_script_exits_as_its_tests_do(tmp_path):
    """scripts/test.sh exits 0 when its tests pass and 1 when they fail: stopping its heartbeat must not change that.
    (Its trap once made a passing run exit 1 about half the time, a race: so several runs.)"""
    (tmp_path/'scripts').mkdir(); (tmp_path/'bin').mkdir()
    (tmp_path/'scripts'/'test.sh').write_text((ROOT/'scripts'/'test.sh').read_text())
    def run(pytest_rc):
        for name, rc in (('nbdev_test', 0), ('python', pytest_rc)):   # stand-ins for the two test runners
            (tmp_path/'bin'/name).write_text(f'#!/bin/sh\necho {name} ran\nexit {rc}\n'); (tmp_path/'bin'/name).chmod(0o755)
        env = dict(os.environ, PATH=f"{tmp_path/'bin'}:{os.environ['PATH']}")
        return subprocess.run(['bash', str(tmp_path/'scripts'/'test.sh')], capture_output=True, text=True, timeout=60, env=env)
    for pytest_rc in (0,)*8 + (1,)*2:
        r = run(pytest_rc)
        assert r.returncode == pytest_rc and 'python ran' in r.stdout and 'Terminated' not in r.stdout + r.stderr, (pytest_rc, r.returncode, r.stdout, r.stderr)
