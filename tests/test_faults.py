"""Nothing lost on bad input or a bad moment: read-only folders, Ctrl-C in prepare, two processes on one folder,
a new run into an old run's folder, values that are not numbers, removed images, a malicious checkpoint."""
import os, pickle, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from conftest import console_script, tmpfs
from test_training import BASE, train, steps_logged, wait_for

def cli(name, *args, cwd, env=None):
    return subprocess.run([console_script(name), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)

def clean_error(r, *msgs):
    "The command failed with each message on stderr and no traceback."
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    for m in msgs: assert m in r.stderr, (m, r.stderr[-2000:])

@pytest.fixture
def read_only(tmp_path):
    "A read-only file system (root ignores file modes, so a tmpfs remounted read-only). Skipped where mounting is not allowed."
    with tmpfs(tmp_path/'ro', '4m', read_only=True) as mnt: yield mnt

def test_read_only_folders(tmp_path, read_only):
    r = cli('vae_celeba_prepare', 'dataset=synthetic', 'synthetic_size=60', f'cache_dir={read_only}', cwd=tmp_path)
    clean_error(r, f"cannot write the cache in {read_only}/synthetic-64", "cache_dir=")
    r = train(tmp_path, *BASE, f'cache_dir={read_only}', 'max_steps=2')
    clean_error(r, f"cannot write the cache in {read_only}")
    r = train(tmp_path, *BASE, f'cache_dir={tmp_path}/cache', f'output_dir={read_only}/run', 'max_steps=2')
    clean_error(r, f"cannot write the run folder {read_only}/run", "output_dir=")
    assert 'last.pt' not in r.stderr               # no advice to resume from a checkpoint that was never written

def test_ctrl_c_in_prepare(tmp_path):
    cache = tmp_path/'cache'
    # SIGINT back to its default in the child: a test run started in the background (nohup ... &) ignores SIGINT, the child
    # would inherit that, and Python installs no KeyboardInterrupt handler where SIGINT is ignored at start-up
    p = subprocess.Popen([console_script('vae_celeba_prepare'), 'dataset=synthetic', 'synthetic_size=6000', f'cache_dir={cache}',
                          'num_workers=0'], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: any(cache.glob('*/.*.tmp*')), p, timeout=120)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'Traceback' not in err, err[-2000:]
    assert 'prepare stopped; its temporary files were removed' in err
    assert not list(cache.glob('*/.*.tmp*')) and not list(cache.glob('*/manifest.json'))

def test_two_trainings_one_folder(tmp_path):
    out = tmp_path/'run'
    common = [*BASE, f'cache_dir={tmp_path}/cache', f'output_dir={out}']
    p = train(tmp_path, *common, 'epochs=50', wait=False)
    wait_for(lambda: len(steps_logged(out)) >= 2, p)
    r = train(tmp_path, *common, 'epochs=50', '--overwrite')
    clean_error(r, f"{out} is in use by another training run (pid {p.pid}")
    p.send_signal(signal.SIGTERM); p.communicate(timeout=120)
    assert p.returncode == 0
    steps = [row['step'] for row in steps_logged(out) if row['kind'] == 'step']
    assert steps == list(range(1, len(steps) + 1)), "the history holds one run's steps, in order"

def test_two_prepares_one_cache(tmp_path):
    cache = tmp_path/'cache'
    args = ['dataset=synthetic', 'synthetic_size=6000', f'cache_dir={cache}', 'num_workers=0']
    p = subprocess.Popen([console_script('vae_celeba_prepare'), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(cache.glob('*/.*.tmp*')), p, timeout=120)
    r = cli('vae_celeba_prepare', *args, cwd=tmp_path)
    clean_error(r, f"is in use by another prepare (pid {p.pid}")
    p.communicate(timeout=300)
    assert p.returncode == 0 and (cache/'synthetic-64-n6000-s0'/'manifest.json').exists()

def test_new_run_never_destroys_an_old_one(tmp_path):
    common = [*BASE, f'cache_dir={tmp_path}/cache', f'output_dir={tmp_path}/run', 'max_steps=3']
    assert train(tmp_path, *common).returncode == 0
    files = {p: p.read_bytes() for p in (tmp_path/'run').rglob('*') if p.is_file() and p.name != '.lock'}
    r = train(tmp_path, *common, 'latent_dim=8')
    clean_error(r, "already holds a run", "--resume", "output_dir=", "--overwrite")
    assert {p: p.read_bytes() for p in (tmp_path/'run').rglob('*') if p.is_file() and p.name != '.lock'} == files
    r = train(tmp_path, *common, 'latent_dim=8', '--overwrite')
    assert r.returncode == 0, r.stderr[-2000:]
    assert torch.load(tmp_path/'run'/'checkpoints'/'last.pt', weights_only=True)['config']['latent_dim'] == 8

@pytest.mark.parametrize('kv', ['lr=nan', 'beta=nan', 'lr=inf', 'grad_clip=.inf'])
def test_values_that_are_not_numbers(tmp_path, kv):
    r = train(tmp_path, *BASE, kv, f'output_dir={tmp_path}/run')
    clean_error(r, f"config key '{kv.split('=')[0]}'", "is not a finite number", "(on the command line)")

def test_bad_override_is_named_as_such(tmp_path):
    r = train(tmp_path, '--config', str(Path(__file__).parents[1]/'configs'/'demo.yaml'), 'batch_size=0')
    clean_error(r, "'batch_size': 0 is not allowed", "(on the command line)")
    assert 'demo.yaml' not in r.stderr

def test_evaluate_with_images_removed(tmp_path):
    from vae_celeba.data import make_fake_celeba
    data = make_fake_celeba(tmp_path/'celeba', n=60, splits=[0] * 48 + [1] * 6 + [2] * 6)
    r = train(tmp_path, *BASE, 'dataset=celeba', f'data_dir={data}', 'download=false', f'cache_dir={tmp_path}/cache',
              f'output_dir={tmp_path}/run', 'max_steps=2')
    assert r.returncode == 0, r.stderr[-2000:]
    import shutil; shutil.rmtree(data)
    r = cli('vae_celeba_evaluate', str(tmp_path/'run'/'checkpoints'/'last.pt'), '--bpd-images', '4', '--fid-images', '0', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path/'run'/'metrics.json').exists()

def test_malicious_checkpoint_gets_no_unsafe_advice(tmp_path):
    evil = tmp_path/'evil.pt'; evil.write_bytes(pickle.dumps(print))
    r = train(tmp_path, '--resume', str(evil))
    clean_error(r, "cannot be read as a checkpoint")
    assert 'weights_only=False' not in r.stderr

def test_one_line_messages_and_an_ended_run_left_alone(tmp_path):
    "Each case failed before with a traceback, blamed the wrong input, passed nonsense, or trained past the run's end."
    r = train(tmp_path, '--config', str(tmp_path))                               # a folder, not a file
    clean_error(r, f"config {str(tmp_path)!r} is a folder, not a file")
    r = train(tmp_path, *BASE, f'cache_dir={tmp_path}/cache', 'use_perceptual=true', f'vgg_weights={tmp_path}/none.pth')
    clean_error(r, 'use_perceptual=false')                                       # the advice, without a traceback above it
    out = tmp_path/'run'
    r = train(tmp_path, *BASE, f'cache_dir={tmp_path}/cache', f'output_dir={out}', 'max_steps=2')
    assert r.returncode == 0, r.stderr[-2000:]
    ck = torch.load(out/'checkpoints'/'last.pt', weights_only=True); ck['config']['a_key_of_a_later_version'] = 1
    torch.save(ck, tmp_path/'future.pt')
    r = train(tmp_path, '--resume', str(tmp_path/'future.pt'))
    clean_error(r, f"{tmp_path/'future.pt'}: its config is not valid for this version of vae_celeba", 'a_key_of_a_later_version')
    assert 'on the command line' not in r.stderr
    clean_error(train(tmp_path, '--resume', str(out/'checkpoints'/'best.pt')), 'holds weights only', f"resume from {out/'checkpoints'/'last.pt'}")
    for args, msg in ((['--bpd-images', '0'], 'bpd_images must be at least 1'), (['--bpd-images', '-1'], 'bpd_images must be at least 1'),
                      (['--fid-images', '-5'], 'fid_images must be 0 (no FID) or more')):
        clean_error(cli('vae_celeba_evaluate', str(out/'checkpoints'/'best.pt'), *args, cwd=tmp_path), msg)
    # the run ended by max_steps: resumed as it is, it changes nothing and says how to go on; with a new limit it trains on
    files = {p.name: p.read_bytes() for p in sorted((out/'checkpoints').glob('*.pt'))}
    history = (out/'logs'/'history.jsonl').read_text()
    r = train(tmp_path, '--resume', str(out/'checkpoints'/'last.pt'))
    assert r.returncode == 0 and 'already ended (by max_steps 2, at step 2)' in r.stdout and 'max_steps=N' in r.stdout, r.stdout + r.stderr
    assert {p.name: p.read_bytes() for p in sorted((out/'checkpoints').glob('*.pt'))} == files
    assert (out/'logs'/'history.jsonl').read_text() == history
    r = train(tmp_path, '--resume', str(out/'checkpoints'/'last.pt'), 'max_steps=4')
    assert r.returncode == 0 and torch.load(out/'checkpoints'/'last.pt', weights_only=True)['step'] == 4, r.stderr[-2000:]

def test_prepare_takes_key_value_anywhere_and_says_when_ready(tmp_path):
    "key=value on both sides of an option (was argparse's 'unrecognized arguments'); a complete cache is named (was silence)."
    args = ['dataset=synthetic', 'synthetic_size=60', f'cache_dir={tmp_path}/cache']
    r = cli('vae_celeba_prepare', *args, '--force', 'num_workers=0', cwd=tmp_path)
    assert r.returncode == 0 and 'complete already' not in r.stdout, r.stdout + r.stderr
    r = cli('vae_celeba_prepare', *args, 'num_workers=0', cwd=tmp_path)
    assert r.returncode == 0 and f"the cache in {tmp_path/'cache'}" in r.stdout and 'is complete already' in r.stdout, r.stdout + r.stderr
