"""How to fit the latent prior: held-out log-likelihood and sample FID of each prior (the mixture against its number
of components, the flow) and of what it is fitted to, for one trained run of bench/real_faces.py. Prints a table,
asserts nothing.

  python bench/prior_fit.py ROW                                   # log-likelihoods only (seconds; the flow ~10 s)
  python bench/prior_fit.py ROW --fid s:fitted:10:0.85 s:flow:0:0.85  # and sample FIDs: WHAT:PRIOR:COMPONENTS:TAU (~3 min each)
  python bench/prior_fit.py ROW --flow held_out=0 epochs=60 --fid s:flow:0:1.0   # the flow with other settings

ROW is a run in WORK/runs (for example gauss_learned_9min@amd). The codes are the training split's posterior
samples (`s`: one draw of q(z|x) per image, what `VAE.fit_prior` fits) or posterior means (`m`); the held-out
score is the mean log-density of the validation split's codes of the same kind, in nats per image. The FIDs follow
bench/real_faces.py's protocol (N_SAMPLES samples against the first N_REF training images, the same noise and
components for every mixture of the same size).
"""
import argparse, sys, time
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.real_faces import reference, sample_fids

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('row'); ap.add_argument('--work', default='/tmp/real_faces')
    ap.add_argument('--components', type=int, nargs='*', default=[1, 3, 10, 20, 40])
    ap.add_argument('--flow', nargs='*', default=None, metavar='KEY=VALUE',
                    help='also the normalizing flow (prior=flow), with these settings (none: its defaults), e.g. held_out=0 epochs=60')
    ap.add_argument('--fid', nargs='*', default=[], metavar='WHAT:PRIOR:K:TAU')
    a = ap.parse_args()
    from vae_celeba.run import model_from_checkpoint
    from vae_celeba.priors import make_prior
    from vae_celeba.evaluation import posterior_means
    work = Path(a.work); folder = work/'cache'/'celeba-64'
    ck = work/'runs'/a.row/'checkpoints'/'last.pt'
    if not ck.exists(): raise SystemExit(f"no run {a.row} in {work/'runs'}: train it with bench/real_faces.py first")
    model, _ = model_from_checkpoint(ck)
    load = lambda s: torch.from_numpy(np.array(np.load(folder/f'{s}.npy', mmap_mode='r')))
    g = torch.Generator().manual_seed(0)
    def codes(x):
        mu, logvar = posterior_means(model, x)
        return {'m': mu.double(), 's': (mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)).double()}
    train, valid = codes(load('train')), codes(load('valid'))
    print(f"{a.row}: {len(train['m']):,} training and {len(valid['m']):,} validation codes of {train['m'].shape[1]} dimensions")
    fits = {}                                   # (what, prior, K): fitted once for the table and the FIDs, as the trainer fits it
    def fitted(what, kind, k):
        if (what, kind, k) not in fits:
            settings = {kk: float(v) if '.' in v else int(v) for kk, v in (x.split('=') for x in a.flow or [])} if kind == 'flow' else {}
            t = time.time(); fits[what, kind, k] = make_prior(kind, train[what].shape[1], components=k, **settings).fit(train[what].float(), 0)
            fits[what, kind, k].fit_s = time.time() - t
        return fits[what, kind, k]
    def log_density(prior, z):                  # mean log-density of z, nats per image
        with torch.no_grad(): return float(prior.log_prob(z.float()).mean())
    print(f"{'fitted to':18s} {'prior':>10s} {'train':>9s} {'valid':>9s} {'fit s':>6s}  (mean log-density, nats per image)")
    for what, label in (('s', 'posterior samples'), ('m', 'posterior means')):
        for kind, k in [('fitted', k) for k in a.components] + ([('flow', 0)] if a.flow is not None else []):
            prior = fitted(what, kind, k)
            name = f"K = {k}" if kind == 'fitted' else kind
            print(f"{label:18s} {name:>10s} {log_density(prior, train[what]):9.2f} {log_density(prior, valid[what]):9.2f} "
                  f"{prior.fit_s:6.1f}", flush=True)
    if not a.fid: return
    fid, _ = reference(folder, work)
    for spec in a.fid:
        what, kind, k, tau = spec.split(':'); k, tau = int(k), float(tau)
        model.prior = fitted(what, kind, k)
        t = time.time(); v = sample_fids(model, fid, [tau])[tau]
        print(f"sample FID, {'posterior samples' if what == 's' else 'posterior means'}, {model.prior.describe()}, "
              f"tau = {tau}: {v:.1f} ({time.time() - t:.0f} s)", flush=True)

if __name__ == '__main__': main()
