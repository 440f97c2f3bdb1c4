"""Where a training step's time goes, for any config, on this machine: prints a report, asserts nothing.

For `--config FILE` (default: the design's run; its perceptual loss is always off here) it measures, in one run:
- the real step: `Trainer.train_step` as `vae_celeba_train` runs it on this machine (the device plan's precision,
  memory layout and compile; the config's EMA, clipping and AdamW), median of `--steps` steps after warm-up, on
  random images (no data loading), with the first (compiling) step's time apart;
- the kernel bound in both layouts: every Conv/Linear of the config's model timed alone, forward + backward in pure
  bf16 (no autocast casts, no norm, activation, loss or optimizer), their times summed: a step built from these
  kernels cannot beat it, whatever is fused around them;
- the bf16 matmul ceiling of this machine;
- the most of the better layout's bound a step can reach here: the bound's convolutions plus the update timed alone
  (the trainer's own gradient norm, fused AdamW step and weights' average, on its real parameters: memory-bound
  work no fusion removes), with everything else free; and with the norms too, at what they cost in the profiled
  step (Inductor's fused GroupNorm + SiLU, NCHW);
- a profile of `--profile-steps` steps (torch.profiler, Inductor's kernels by name), its self time grouped into
  convolutions (and Linears), norms, activations + squeeze-excitation, loss (its forward; the step names it
  `vae_celeba::loss`), optimizer + EMA + clipping (`vae_celeba::update`) and other (the loss's backward, casts,
  copies, Python and the compiled wrappers);
- with `--compare`, the step again in each layout, compiled and not, and in fp32, each in a process of its own.
Speeds are comparable within one run only: these machines differ, and other work on them moves every figure.

Run: python bench/train_speed.py --config configs/celeba-cpu.yaml [--steps 10] [--compare] [key=value ...]
"""
import argparse, json, re, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import torch, torch.nn as nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode
from vae_celeba.config import load_config
from vae_celeba.model import VAE
from vae_celeba.summary import model_stats
from vae_celeba.training import Trainer

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = [('convolutions', r'convolution|mkldnn|^aten::(mm|addmm|bmm|linear)$'), ('norms', r'group_norm'),
              ('activations+SE', r'silu|sigmoid|mean')]   # by name; the two scopes below come first

def matmul_ceiling(n:int=4096, reps:int=10) -> float:
    "GFLOP/s of a large bf16 matmul: what this machine's matrix units give at best."
    a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
    a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9

def kernel_bound(cfg, channels_last:bool, reps:int=7) -> tuple[float, float]:
    "Seconds and FLOPs of forward + backward of every Conv/Linear of `cfg`'s model at its batch size, each timed alone in bf16."
    model, shapes = VAE(cfg), {}
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.update({m: i[0].shape}))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad(): model(torch.rand(cfg.batch_size, 3, cfg.image_size, cfg.image_size))
    for h in hooks: h.remove()
    total_s = total_f = 0
    for m, shape in shapes.items():
        m, x = m.to(torch.bfloat16), torch.randn(shape, dtype=torch.bfloat16)
        if channels_last and x.dim() == 4:
            x, m = x.contiguous(memory_format=torch.channels_last), m.to(memory_format=torch.channels_last)
        x.requires_grad_()
        g = torch.randn_like(m(x))
        def run(): m(x).backward(g)
        with FlopCounterMode(display=False) as fc: run()
        times = []
        for _ in range(reps):
            t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
        total_s += sorted(times)[reps // 2]; total_f += fc.get_total_flops()
    return total_s, total_f

def update_alone(tr:Trainer, reps:int=7) -> float:
    "Seconds of the trainer's update alone: its gradient norm, fused AdamW step and average, on random gradients."
    for p in tr.params: p.grad = torch.randn_like(p) * 1e-3
    skip = torch.zeros(())
    def run(): tr._grad_norm(); tr._update(skip)
    run()
    times = []
    for _ in range(reps):
        t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
    return sorted(times)[reps // 2]

def trainer_for(cfg_file:str, overrides:list[str], tmp:str) -> Trainer:
    "The config's trainer as `vae_celeba_train` builds it here, on a tiny synthetic split (the step never reads it)."
    cfg = load_config(cfg_file, [*overrides, 'use_perceptual=false', 'dataset=synthetic', 'synthetic_size=64',
                                 'num_workers=0', f'cache_dir={tmp}/cache', f'output_dir={tmp}/out'])
    return Trainer(cfg, device=torch.device('cpu'))

def step_rate(tr:Trainer, steps:int) -> tuple[float, float, float]:
    "Images/s of the median step after warm-up, the first step's seconds (compile), and the median step's seconds."
    x = torch.randint(0, 256, (tr.cfg.batch_size, 3, tr.cfg.image_size, tr.cfg.image_size), dtype=torch.uint8)
    t = time.perf_counter(); tr.train_step(x); first = time.perf_counter() - t
    for _ in range(2): tr.train_step(x)
    times = []
    for _ in range(steps):
        t = time.perf_counter(); tr.train_step(x); times.append(time.perf_counter() - t)
    med = sorted(times)[len(times) // 2]
    return tr.cfg.batch_size / med, first, med

def category(ev) -> str:
    "The part of the step an event's self time belongs to: its named scope first, then its name."
    p = ev
    while p is not None:
        if p.name == 'vae_celeba::update': return 'optimizer+EMA+clip'
        if p.name == 'vae_celeba::loss': return 'loss'
        p = p.cpu_parent
    return next((c for c, pat in CATEGORIES if re.search(pat, ev.name)), 'other')

def step_profile(tr:Trainer, steps:int) -> tuple[dict, float]:
    "Milliseconds per step of each category's self time, and the profiled step's wall milliseconds."
    x = torch.randint(0, 256, (tr.cfg.batch_size, 3, tr.cfg.image_size, tr.cfg.image_size), dtype=torch.uint8)
    t = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(steps): tr.train_step(x)
    wall = (time.perf_counter() - t) / steps * 1e3
    ms = {}
    for ev in p.events():
        c = category(ev); ms[c] = ms.get(c, 0.0) + ev.self_cpu_time_total / 1e3 / steps
    return ms, wall

def compare(cfg_file:str, overrides:list[str], steps:int):
    "The step in each layout, compiled or not, and in fp32: one child process each (compile caches stay apart)."
    rows = [('bf16, NCHW, compiled', ['precision=bf16', 'channels_last=off', 'compile=on']),
            ('bf16, NHWC, compiled', ['precision=bf16', 'channels_last=on', 'compile=on']),
            ('bf16, NCHW, eager', ['precision=bf16', 'channels_last=off', 'compile=off']),
            ('bf16, NHWC, eager', ['precision=bf16', 'channels_last=on', 'compile=off']),
            ('fp32, NCHW, eager', ['precision=fp32', 'channels_last=off', 'compile=off'])]
    print(f"\nthe step in other settings (each in its own process):\n{'setting':26s} {'images/s':>9s} {'first step':>11s}")
    for name, kw in rows:
        r = subprocess.run([sys.executable, __file__, '--config', cfg_file, '--steps', str(steps), '--child', *overrides, *kw],
                           capture_output=True, text=True, cwd=ROOT)
        if r.returncode: print(f"{name:26s} failed: {r.stderr.strip().splitlines()[-1:]}"); continue
        ips, first = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"{name:26s} {ips:9.1f} {first:10.1f}s")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--config', default=str(ROOT/'configs'/'config.yaml'), help='a YAML config (default: the design run)')
    ap.add_argument('--steps', type=int, default=10, help='timed steps after warm-up')
    ap.add_argument('--profile-steps', type=int, default=3, help='steps in the profile')
    ap.add_argument('--compare', action='store_true', help='also time the step in each layout, compiled or not, and fp32')
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('overrides', nargs='*', help='key=value settings applied after the file')
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    import torch._inductor.config as ic
    ic.cpp.enable_kernel_profile = True   # Inductor's C++ kernels by name in the profile (outside one: a flag check each)
    with tempfile.TemporaryDirectory() as tmp:
        tr = trainer_for(a.config, a.overrides, tmp)
        if a.child: ips, first, _ = step_rate(tr, a.steps); print(json.dumps([ips, first])); return
        cfg, plan = tr.cfg, tr.plan
        gflop = model_stats(VAE(cfg))['gflop_forward_per_image']
        print(f"{a.config} {' '.join(a.overrides)}: batch {cfg.batch_size}, latent {cfg.latent_dim}, base_channels "
              f"{cfg.base_channels}, ema {cfg.ema}, grad_clip {cfg.grad_clip}; {gflop:.3f} GFLOP forward per image")
        print(f"this machine: {torch.get_num_threads()} threads, bf16 matmul ceiling {matmul_ceiling():.0f} GFLOP/s")
        print(f"device plan here: precision {plan['precision']}, {'NHWC' if plan['channels_last'] else 'NCHW'}, "
              f"compile {'on' if plan['compile'] else 'off'}")
        ips, first, med = step_rate(tr, a.steps)
        print(f"\nthe step as vae_celeba_train runs it: {ips:.1f} images/s ({med * 1e3:.1f} ms a step); "
              f"first step {first:.1f} s (compiling, where on)")
        bounds = {}
        for layout, cl in (('NCHW', False), ('NHWC', True)):
            sec, flops = kernel_bound(cfg, cl)
            bounds[layout] = cfg.batch_size / sec
            print(f"kernel bound, {layout}: {bounds[layout]:.1f} images/s ({sec * 1e3:.1f} ms; {flops / sec / 1e9:.0f} GFLOP/s); "
                  f"the step is at {ips / bounds[layout]:.0%} of it")
        best = max(bounds, key=bounds.get)
        print(f"the better layout's bound ({best}): the step is at {ips / bounds[best]:.0%} of it")
        ms, wall = step_profile(tr, a.profile_steps)
        total = sum(ms.values())
        print(f"\nprofile of {a.profile_steps} steps ({wall:.1f} ms a step under the profiler), self time a step:")
        for c, v in sorted(ms.items(), key=lambda kv: -kv[1]): print(f"  {c:20s} {v:7.1f} ms  {v / total:5.1%}")
        conv_s, upd_s, norm_s = cfg.batch_size / bounds[best], update_alone(tr), ms.get('norms', 0.0) / 1e3
        print(f"\nthe update alone (grad norm, fused AdamW, average; timed apart): {upd_s * 1e3:.1f} ms. A step of the {best} "
              f"bound's convolutions and this update, all else free: at most {conv_s / (conv_s + upd_s):.0%} of the bound; "
              f"with the norms as the step runs them ({norm_s * 1e3:.1f} ms): at most {conv_s / (conv_s + upd_s + norm_s):.0%}")
        if a.compare: compare(a.config, a.overrides, a.steps)

if __name__ == '__main__': main()
