"""Training throughput of the default model on this machine: prints a table, asserts nothing.

Each row times the real training step (`Trainer.train_step`: forward, fp32 loss, backward, AdamW)
at batch 32 on random images, median of several steps after warm-up, and converts it to GFLOP/s
(3x the forward FLOPs per image, counted by torch.utils.flop_counter). The ceiling is a large
bf16 matmul measured in the same run. The last two rows are the design's own bound on this machine: every
convolution and Linear of the model timed alone (forward + backward, pure bf16, no autocast casts, no
norm, activation, loss or optimizer), their times summed: a training step
built from these (oneDNN) kernels cannot beat it, whatever is fused around them.

Run: python bench/train_speed.py [--steps 6] [--no-compile]
"""
import argparse, tempfile, time, warnings
import torch, torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode
from vae_celeba.config import Config
from vae_celeba.model import VAE
from vae_celeba.summary import model_stats
from vae_celeba.training import Trainer

def matmul_ceiling(n=4096, reps=10):
    a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
    a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9

def kernel_bound(channels_last:bool, batch:int=32, reps:int=5):
    "Seconds and FLOPs of forward + backward of every Conv/Linear of the default model, each timed alone in bf16."
    model, shapes = VAE(), {}
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.update({m: i[0].shape}))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad(): model(torch.rand(batch, 3, 64, 64))
    for h in hooks: h.remove()
    total_s = total_f = 0
    for m, shape in shapes.items():
        m = m.to(torch.bfloat16)
        x = torch.randn(shape, dtype=torch.bfloat16)
        if channels_last and x.dim() == 4: x, m = x.contiguous(memory_format=torch.channels_last), m.to(memory_format=torch.channels_last)
        x.requires_grad_()
        g = torch.randn_like(m(x))
        def run(): m(x).backward(g)
        with FlopCounterMode(display=False) as fc: run()
        times = []
        for _ in range(reps):
            t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
        total_s += sorted(times)[reps // 2]; total_f += fc.get_total_flops()
    return total_s, total_f

def step_rate(tmp, steps, **kw):
    cfg = Config(dataset='synthetic', synthetic_size=64, cache_dir=f'{tmp}/cache', output_dir=f'{tmp}/out', use_perceptual=False, **kw)
    tr = Trainer(cfg, device=torch.device('cpu'))
    x = torch.randint(0, 256, (cfg.batch_size, 3, 64, 64), dtype=torch.uint8)
    warm = 3 if kw.get('compile') == 'on' else 1
    t0 = time.perf_counter()
    for _ in range(warm): tr.train_step(x)
    first = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter(); tr.train_step(x); times.append(time.perf_counter() - t)
    return cfg.batch_size / sorted(times)[len(times) // 2], first

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=6); ap.add_argument('--no-compile', action='store_true')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    gflop = model_stats(VAE())['gflop_forward_per_image']
    ceil = matmul_ceiling()
    print(f"default model: {gflop:.2f} GFLOP forward per image; training ~{3 * gflop:.2f} GFLOP per image; "
          f"{torch.get_num_threads()} threads; bf16 matmul ceiling {ceil:.0f} GFLOP/s")
    rows = [('fp32 eager', dict(precision='fp32', channels_last='off', compile='off')),
            ('bf16 autocast', dict(precision='bf16', channels_last='off', compile='off')),
            ('bf16 + channels_last', dict(precision='bf16', channels_last='on', compile='off')),
            ('fp32 + channels_last', dict(precision='fp32', channels_last='on', compile='off')),
            ('default (auto)', dict())]
    if not a.no_compile: rows.append(('bf16 + channels_last + compile', dict(precision='bf16', channels_last='on', compile='on')))
    base = None
    print(f"{'setting':34s} {'images/s':>9s} {'vs fp32':>8s} {'GFLOP/s':>8s} {'of ceiling':>10s}  first step")
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in rows:
            ips, first = step_rate(tmp, a.steps, **kw)
            base = base or ips
            g = ips * 3 * gflop
            print(f"{name:34s} {ips:9.1f} {ips / base:7.2f}x {g:8.0f} {g / ceil:9.0%}   {first:.1f} s")
    for layout, cl in (('NCHW', False), ('NHWC', True)):
        sec, flops = kernel_bound(cl)
        ips, g = 32 / sec, flops / sec / 1e9
        print(f"{'bound: convs+Linears only, ' + layout:34s} {ips:9.1f} {ips / base:7.2f}x {g:8.0f} {g / ceil:9.0%}")

if __name__ == '__main__': main()
