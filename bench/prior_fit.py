"""How to fit the latent prior: held-out log-likelihood and sample FID of the mixture against its number of
components and what it is fitted to, for one trained run of bench/real_faces.py. Prints a table, asserts nothing.

  python bench/prior_fit.py ROW                          # log-likelihoods only (seconds)
  python bench/prior_fit.py ROW --fid s:10:0.85 m:3:1.0  # and sample FIDs: WHAT:COMPONENTS:TAU (about 3 min each on 2 cores)

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
    ap.add_argument('--fid', nargs='*', default=[], metavar='WHAT:K:TAU')
    a = ap.parse_args()
    from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal
    from vae_celeba.run import model_from_checkpoint
    from vae_celeba.model import fit_latent_prior
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
    fits = {}                                   # (what, K): the mixture, fitted once for the table and the FIDs
    def fitted(what, k):
        if (what, k) not in fits: fits[what, k] = fit_latent_prior(train[what], k, 0)   # what the trainer fits
        return fits[what, k]
    def log_density(prior, z):                  # mean log-density of z under the mixture, nats per image
        mix = MixtureSameFamily(Categorical(prior.weights.double()), MultivariateNormal(prior.means.double(), scale_tril=prior.scale_trils.double()))
        return float(mix.log_prob(z).mean())
    print(f"{'fitted to':18s} {'K':>3s} {'train':>9s} {'valid':>9s}  (mean log-density, nats per image; full covariances)")
    for what, label in (('s', 'posterior samples'), ('m', 'posterior means')):
        for k in a.components:
            prior = fitted(what, k)
            print(f"{label:18s} {k:3d} {log_density(prior, train[what]):9.2f} {log_density(prior, valid[what]):9.2f}", flush=True)
    if not a.fid: return
    fid, _ = reference(folder, work)
    for spec in a.fid:
        what, k, tau = spec.split(':'); k, tau = int(k), float(tau)
        model.prior = fitted(what, k)
        t = time.time(); v = sample_fids(model, fid, [tau])[tau]
        print(f"sample FID, {'posterior samples' if what == 's' else 'posterior means'}, K = {k}, tau = {tau}: {v:.1f} ({time.time() - t:.0f} s)", flush=True)

if __name__ == '__main__': main()
