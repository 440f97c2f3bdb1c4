"""Training behaviour that needs processes: signals, SIGKILL and resume, the command line, DDP with 2 processes."""
import json, math, os, re, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from conftest import console_script, SHARED_SAMPLE

# a config small enough for seconds, large enough that a step takes a visible time
BASE = ['dataset=synthetic', 'synthetic_size=400', 'latent_dim=16', 'base_channels=16', 'batch_size=16',
        'precision=fp32', 'compile=off', 'channels_last=off', 'use_perceptual=false', 'num_workers=0',
        'lr=1e-3', 'log_every=1']

def train(tmp, *args, wait=True, env=None):
    cmd = [console_script('vae_celeba_train'), *args]
    if wait: return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=900, env=env)
    return subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['model']

def steps_logged(out):
    h = out/'logs'/'history.jsonl'
    return [json.loads(l) for l in h.read_text().splitlines()] if h.exists() else []

def wait_for(cond, proc, timeout=300):
    "Wait until `cond()`; fail at once, with its output, if `proc` ends first."
    t = time.time()
    while not cond():
        if proc.poll() is not None: pytest.fail(f"training ended early ({proc.returncode}): {proc.communicate()[1][-2000:]}")
        if time.time() - t > timeout: raise TimeoutError
        time.sleep(0.05)

@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_and_exits_0(tmp_path, sig):
    out = tmp_path/'run'
    p = train(tmp_path, *BASE, f'output_dir={out}', f'cache_dir={tmp_path}/cache', 'epochs=50', wait=False)
    wait_for(lambda: len(steps_logged(out)) >= 3, p)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    assert re.search(r'resume with: \S*vae_celeba_train --resume', stdout + stderr), stdout + stderr   # bare, or .venv/bin/...
    ck = torch.load(out/'checkpoints'/'last.pt', map_location='cpu', weights_only=True)
    assert ck['step'] >= 3 and ck['step'] == steps_logged(out)[-1]['step']

def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    n = 40
    common = [*BASE, f'cache_dir={tmp_path}/cache', f'max_steps={n}', 'epochs=5']
    r = train(tmp_path, *common, f'output_dir={tmp_path}/full')
    assert r.returncode == 0, r.stderr
    out = tmp_path/'killed'
    p = train(tmp_path, *common, f'output_dir={out}', 'checkpoint_every=7', wait=False)
    wait_for(lambda: (out/'checkpoints'/'last.pt').exists() and len(steps_logged(out)) >= 10, p)
    p.kill(); p.wait()
    at = torch.load(out/'checkpoints'/'last.pt', map_location='cpu', weights_only=True)['step']
    assert 0 < at < n, f"the kill did not land mid-run (checkpoint at step {at})"
    assert steps_logged(out)[-1]['step'] > at          # steps after the checkpoint were lost with the kill ...
    r = train(tmp_path, '--resume', str(out/'checkpoints'/'last.pt'))
    assert r.returncode == 0, r.stderr
    a, b = weights(tmp_path/'full'/'checkpoints'/'last.pt'), weights(out/'checkpoints'/'last.pt')
    for k in a: assert torch.equal(a[k], b[k]), f"{k} differs from the uninterrupted run"
    steps = [row['step'] for row in steps_logged(out) if row['kind'] == 'step']
    assert steps == sorted(set(steps)), "... and were redone once, not logged twice"

def test_bad_checkpoints(tmp_path):
    r = train(tmp_path, *BASE, f'output_dir={tmp_path}/run', f'cache_dir={tmp_path}/cache', 'max_steps=2')
    assert r.returncode == 0, r.stderr
    last = tmp_path/'run'/'checkpoints'/'last.pt'
    cut = tmp_path/'cut.pt'; b = last.read_bytes(); cut.write_bytes(b[:len(b) // 3])
    for args, msg in [(['--resume', str(cut)], 'it is truncated or not a vae_celeba checkpoint'),
                      (['--resume', str(tmp_path/'run'/'checkpoints'/'nope.pt')], 'checkpoints in'),
                      (['--resume', str(last), 'latent_dim=32'], "do not fit this model's architecture"),
                      (['--config', str(tmp_path/'missing.yaml')], 'missing.yaml\' does not exist'),
                      ([*BASE, 'batch_size=0'], "'batch_size': 0 is not allowed")]:
        r = train(tmp_path, *args)
        assert r.returncode != 0 and msg in r.stderr and 'Traceback' not in r.stderr, (args, r.stderr[-500:])

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.mark.parametrize('mode', ['auto', 'on'])
def test_broken_compiler(tmp_path, mode):
    "A machine whose C++ compiler does not work: compile=auto trains without compiling, compile=on stops with advice."
    from vae_celeba.training import resolve_switch
    if mode == 'auto' and not resolve_switch('auto', torch.device('cpu'), 'compile'):
        pytest.skip("no C++ compiler on PATH: compile=auto does not try to compile here")
    env = dict(os.environ, CXX='/bin/false', TORCHINDUCTOR_CACHE_DIR=str(tmp_path/'inductor'))   # no cached kernels to fall back on
    r = train(tmp_path, *BASE, f'compile={mode}', 'max_steps=2', f'output_dir={tmp_path}/out', f'cache_dir={tmp_path}/cache', env=env)
    if mode == 'auto':
        assert r.returncode == 0, r.stderr[-2000:]
        assert 'torch.compile failed on this machine' in r.stdout + r.stderr and 'max_steps: step 2, inside epoch 1,' in r.stdout   # epochs count from 1
    else:
        assert r.returncode == 1 and 'error: torch.compile failed on this machine' in r.stderr and 'compile=off' in r.stderr, r.stderr[-2000:]
        assert 'Traceback' not in r.stderr

def test_ddp_two_processes_match_one(tmp_path):
    "One step on 2 gloo processes (batch 8 each) equals one step of a single process with batch 16."
    common = [*BASE, f'cache_dir={tmp_path}/cache', 'max_steps=1', 'kl_warmup_epochs=0', 'hflip=true']
    r = train(tmp_path, *common, 'batch_size=16', f'output_dir={tmp_path}/one')
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
           '--master_port', str(free_port()), '-m', 'vae_celeba.training', *common, 'batch_size=8', f'output_dir={tmp_path}/two']
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    one = torch.load(tmp_path/'one'/'checkpoints'/'last.pt', weights_only=True)
    two = torch.load(tmp_path/'two'/'checkpoints'/'last.pt', weights_only=True)
    check_ddp_step(one, two, batch=16, pixels=64 * 64)
    # every file goes through rank 0's writer (the other rank's writes nothing): the same rows as one process's
    rows = lambda run: [json.loads(l)['kind'] for l in (tmp_path/run/'logs'/'history.jsonl').read_text().splitlines()]
    assert rows('two') == rows('one') and rows('one'), (rows('one'), rows('two'))

def ddp_tolerances(g:torch.Tensor, batch:int, pixels:int) -> torch.Tensor:
    """How far two fp32 gradients that differ only in the order of their sums may lie apart.
    A weight gradient sums at most batch * pixels products (a full-resolution convolution); summed in
    another order (2 ranks of half the batch, other kernel blocking on another CPU) a sum of N terms
    moves by about sqrt(N) rounding errors of its size (a random walk of eps each), hence
    sqrt(N) * eps(fp32) * max|g|, doubled as margin. It does not depend on the processor."""
    return 2 * math.sqrt(batch * pixels) * torch.finfo(torch.float32).eps * g.abs().max()

def check_ddp_step(one:dict, two:dict, batch:int, pixels:int):
    "The averaged gradients (Adam's first moment is 0.1 * g after one step) and the weights of two runs agree as DDP promises."
    lr, eps_adam = one['opt']['param_groups'][0]['lr'], one['opt']['param_groups'][0]['eps']
    a, b = one['model'], two['model']
    names = [k for k, v in a.items() if v.is_floating_point()]
    for i, (s1, s2) in enumerate(zip(one['opt']['state'].values(), two['opt']['state'].values())):
        g1, g2 = s1['exp_avg'] / 0.1, s2['exp_avg'] / 0.1
        tol = ddp_tolerances(g1, batch, pixels)
        # without DDP's averaging the gradients would differ by a factor of 2, with wrong noise or data by far more
        assert (g1 - g2).abs().max() <= tol, f"param {i}: gradients differ by {(g1 - g2).abs().max():.2e} > {tol:.2e}"
        if i >= len(names) or a[names[i]].shape != g1.shape: continue   # the loss module's parameters come after the model's
        w1, w2 = a[names[i]], b[names[i]]
        # Adam's first step moves w by lr * g / (|g| + eps_adam), about lr * sign(g): where |g| is within the
        # gradients' tolerance its sign may differ between the runs, so the weights may be up to 2 lr apart;
        # elsewhere they differ by the update's derivative times the gradient error, plus the rounding of w and of the step.
        sure = g1.abs() > 2 * tol
        bound = 4 * torch.finfo(torch.float32).eps * (w1.abs() + lr) + lr * eps_adam * tol / g1.square().clamp_min(1e-30)
        d = (w1 - w2).abs()
        assert (d[sure] <= bound[sure]).all(), f"{names[i]}: weights differ by {d[sure].max():.2e} where the gradient's sign is certain"
        assert (d <= 2 * lr * (1 + 1e-3)).all(), f"{names[i]}: weights differ by {d.max():.2e} > 2 lr"
    from vae_celeba.model import VAE
    from vae_celeba.config import Config
    torch.manual_seed(0); fresh = VAE(Config.from_dict(one['config'])).state_dict()
    assert any(not torch.equal(fresh[k], a[k]) for k in a), "the step changed nothing: the comparison would be empty"

@pytest.mark.slow
@pytest.mark.skipif(not SHARED_SAMPLE.is_dir(), reason='the shared CelebA sample is not on this machine')
def test_real_celeba_few_minutes(tmp_path):
    "A small model on the real sample for a few minutes: validation loss falls, reconstructions beat the data mean."
    out = tmp_path/'real'
    r = train(tmp_path, f'data_dir={SHARED_SAMPLE}', f'cache_dir={tmp_path}/cache', f'output_dir={out}', 'download=false',
              'use_perceptual=false', 'latent_dim=64', 'base_channels=16', 'batch_size=32', 'lr=1e-3', 'epochs=3',
              'kl_warmup_epochs=1', 'kl_per_step=true', 'compile=off', 'log_every=50')
    assert r.returncode == 0, r.stderr[-2000:]
    ep = [row for row in steps_logged(out) if row['kind'] == 'epoch']
    assert len(ep) == 3 and ep[-1]['valid']['loss'] < ep[0]['valid']['loss'], [e['valid'] for e in ep]
    import numpy as np
    from vae_celeba.run import model_from_checkpoint
    m, _ = model_from_checkpoint(out/'checkpoints'/'best.pt')
    folder = next((tmp_path/'cache').iterdir())
    x = torch.from_numpy(np.load(folder/'test.npy')[:256]).float() / 255
    train_mean = torch.from_numpy(np.load(folder/'train.npy')[:2000]).float().mean(0) / 255
    with torch.no_grad(): mse_model = (m.reconstruct(x) - x).square().mean().item()
    mse_mean = (train_mean - x).square().mean().item()
    print(f"test MSE per pixel: model {mse_model:.4f}, data mean {mse_mean:.4f}; valid loss by epoch {[round(e['valid']['loss'], 1) for e in ep]}")
    assert mse_model < 0.7 * mse_mean
    # and the evaluation of that checkpoint: every figure, and metrics.json (figures stay in tmp: CelebA may not be redistributed)
    r = subprocess.run([console_script('vae_celeba_evaluate'), str(out/'checkpoints'/'best.pt'), '--output-dir', str(tmp_path/'eval'),
                        '--bpd-images', '64', '--fid-images', '200'], cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    print(r.stdout)
    m = json.loads((tmp_path/'eval'/'metrics.json').read_text())
    assert m['n_test_images'] > 500 and m['bpd_iwae'] <= m['bpd_negative_elbo'] < 8 and m['active_units'] > 0
    assert {Path(f).name for f in m['figures']} >= {'reconstructions.png', 'temperature_grid.png', 'interpolations.png', 'samples.png',
                                                   'attributes.png', 'kl_per_dim.png', 'loss_curves.png'}
    keep = os.environ.get('VAE_CELEBA_KEEP_REAL_EVAL')          # a local folder to look at the figures (never committed)
    if keep: import shutil; shutil.copytree(tmp_path/'eval', keep, dirs_exist_ok=True)

def test_fast_step_matches_fp32_reference(tmp_path):
    """One training step as this machine runs it fast (bf16 autocast, torch.compile, the device plan's layout) gives the
    eager fp32 step's loss and gradients within bf16's rounding.
    Bound, from the format alone: autocast rounds both operands of each convolution and Linear to bf16 (a relative error
    of at most eps/2 each, eps = 2**-7), so at first order a forward pass through n of them moves the loss by at most
    n * eps of its size, and a weight's gradient, whose signal passes through them forward and back, by at most
    2 n eps of its own norm. The sums' order and the processor do not enter it: fp32 sums add far less."""
    from vae_celeba.config import Config
    from vae_celeba.training import Trainer
    import torch.nn as nn
    if not any(__import__('shutil').which(c) for c in ('cc', 'gcc', 'clang', 'g++')): pytest.skip('no C++ compiler for torch.compile')
    kw = dict(output_dir=str(tmp_path/'out'), cache_dir=str(tmp_path/'cache'), num_workers=0, kl_warmup_epochs=0)
    fast = Trainer(Config.tiny(**kw, precision='bf16', compile='on', channels_last='auto'), device=torch.device('cpu'))
    ref = Trainer(Config.tiny(**kw, precision='fp32', compile='off', channels_last='off'), device=torch.device('cpu'))
    assert fast.plan['compile'] and fast.dtype == torch.bfloat16 and ref.dtype is None
    for a, b in zip(fast.model.parameters(), ref.model.parameters()): assert torch.equal(a, b)   # the same start
    xb = torch.from_numpy(ref.loaders['train'].data.x[:16].copy())
    r_fast, r_ref = fast.train_step(xb), ref.train_step(xb)
    n = sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) for m in ref.model.modules())
    eps = torch.finfo(torch.bfloat16).eps
    assert abs(r_fast['loss'] - r_ref['loss']) <= n * eps * abs(r_ref['loss']), (r_fast['loss'], r_ref['loss'], n)
    checked = 0
    for (name, p), q in zip(ref.model.named_parameters(), fast.model.parameters()):
        g, g_fast = p.grad, q.grad
        if g is None or g.norm() == 0: continue
        err, bound = (g_fast - g).norm().item(), 2 * n * eps * g.norm().item()
        assert err <= bound, f"{name}: gradient differs by {err:.3e} > {bound:.3e} (2 n eps |g|, n = {n})"
        checked += 1
    assert checked > 20, checked   # the comparison covered the model's weights, not an empty list
