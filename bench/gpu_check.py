"""The design run on a CUDA GPU for a few hundred steps: images/s, peak memory against the estimate, and how long the GPU waits.

Trains `configs/config.yaml` (perceptual loss off: its VGG16 weights cannot be fetched offline) on synthetic faces through
the real `Trainer.train_step`, as `vae_celeba_train` runs it on that GPU (bf16, channels_last, compile: the device plan),
then prints:
- images/s over the timed steps, and the first (compiling) step's seconds;
- the peak memory torch allocated against `step_footprint`'s estimate (the hardware chapter's table), as a ratio;
- the share of the timed steps' wall time in which the GPU ran no kernel (torch.profiler's CUDA activity): the time it
  waited on the host (Python, the optimizer's launches), as trained (the loss terms read on the host at log steps
  only) and again with them read at every step, to show what that wait costs;
- the same steps with CUDA graphs (the model compiled in mode 'reduce-overhead'): images/s against the default's.
Skips with one line where CUDA is absent. bench/gpu_check.sh runs it with the #| cuda notebook cells.

Run: python bench/gpu_check.py [--steps 300] [key=value ...]
"""
import argparse, sys, tempfile, time, warnings
from pathlib import Path
import torch

def gpu_busy_share(tr, x, steps:int) -> float:
    "The share of `steps` steps' wall time in which some CUDA kernel ran (merged kernel intervals over the wall time)."
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        t = time.perf_counter()
        for _ in range(steps): tr.train_step(x)
        torch.cuda.synchronize(); wall_us = (time.perf_counter() - t) * 1e6
    spans = sorted((e.time_range.start, e.time_range.end) for e in p.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    busy, end = 0.0, -1.0
    for s, e in spans:
        if s > end: busy += e - s; end = e
        elif e > end: busy += e - end; end = e
    return busy / wall_us

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=300, help='timed steps')
    ap.add_argument('overrides', nargs='*', help='key=value settings applied after configs/config.yaml')
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False): skipped; run it on a machine with a GPU"); return
    warnings.simplefilter('ignore')
    from vae_celeba.config import load_config
    from vae_celeba.summary import step_footprint
    from vae_celeba.training import Trainer
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(root/'configs'/'config.yaml', [*a.overrides, 'use_perceptual=false', 'dataset=synthetic',
                                                           'synthetic_size=256', 'num_workers=0', f'cache_dir={tmp}/c', f'output_dir={tmp}/o'])
        dev = torch.device('cuda')
        tr = Trainer(cfg, device=dev)
        print(f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}; device plan: {tr.plan['precision']}, "
              f"{'NHWC' if tr.plan['channels_last'] else 'NCHW'}, compile {'on' if tr.plan['compile'] else 'off'}; batch {cfg.batch_size}")
        x = torch.randint(0, 256, (cfg.batch_size, 3, cfg.image_size, cfg.image_size), dtype=torch.uint8)
        t = time.perf_counter(); tr.train_step(x); torch.cuda.synchronize(); first = time.perf_counter() - t
        for _ in range(10): tr.train_step(x)
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(dev)
        t = time.perf_counter()
        for _ in range(a.steps): tr.train_step(x)
        torch.cuda.synchronize(); sec = time.perf_counter() - t
        peak = torch.cuda.max_memory_allocated(dev)
        est = step_footprint(cfg, tr.plan['precision'], (cfg.batch_size,))['batches'][cfg.batch_size]['total']
        print(f"design run: {a.steps * cfg.batch_size / sec:.0f} images/s over {a.steps} steps ({sec / a.steps * 1e3:.2f} ms a step); "
              f"first step {first:.1f} s (compiling)")
        print(f"peak memory allocated {peak / 2**30:.2f} GiB against the estimate {est / 2**30:.2f} GiB (ratio {peak / est:.2f})")
        busy = gpu_busy_share(tr, x, 30)
        print(f"the GPU ran kernels {busy:.0%} of the step's wall time: it waited on the host {1 - busy:.0%} "
              f"(the loss read on the host at log steps only, as trained)")
        tr.plan['defer_reads'] = False   # the same steps, the host reading the loss at every step (a CPU's way)
        per_step = gpu_busy_share(tr, x, 30)
        print(f"with the loss read at every step: busy {per_step:.0%}, waiting {1 - per_step:.0%}")
        tr.plan['defer_reads'] = True
        cuda_graphs(tr, x, a.steps, sec)

def cuda_graphs(tr, x, steps:int, sec:float):
    "The same steps with the model compiled in mode 'reduce-overhead' (CUDA graphs): images/s against the default's."
    import torch._dynamo
    torch._dynamo.reset()
    tr.net = torch.compile(tr.model, mode='reduce-overhead')
    try:
        for _ in range(10): tr.train_step(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(steps): tr.train_step(x)
        torch.cuda.synchronize(); graphs = time.perf_counter() - t
    except Exception as e:   # a report, not a test: say what failed and go on
        print(f"CUDA graphs (compile mode 'reduce-overhead'): failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"); return
    busy = gpu_busy_share(tr, x, 30)
    print(f"CUDA graphs (compile mode 'reduce-overhead'): {steps * tr.cfg.batch_size / graphs:.0f} images/s "
          f"({sec / graphs:.2f}x the default's), GPU busy {busy:.0%}")

if __name__ == '__main__': sys.exit(main())
