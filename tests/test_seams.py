"""The places one extends vae_celeba, proven by extending them from outside the package: a prior registered in one line
is trained, checkpointed, loaded and sampled; no module but vae_celeba.priors knows which priors exist."""
import ast, math
import pytest, torch
from conftest import ROOT
from vae_celeba import priors
from vae_celeba.priors import PRIORS, Prior

class ShiftedNormal(Prior):
    "A test-only prior: N(m, I), m the codes' mean."
    def __init__(self, dim:int):
        super().__init__(dim)
        self.register_buffer('mean', torch.zeros(dim))
    def fit(self, z, seed=0):
        self.mean.copy_(z.float().mean(0)); self.images = len(z)
        return self
    def transform(self, eps, tau, generator=None): return self.mean + tau * eps
    def log_prob(self, z): return -0.5 * ((z.float() - self.mean) ** 2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)
    def describe(self): return f"N(m, I) with m the mean code of {self.images:,} training images (a test prior)"

def test_a_prior_registered_in_one_line_is_trained_saved_loaded_and_sampled(tmp_path, monkeypatch):
    monkeypatch.setitem(PRIORS, 'shifted', ShiftedNormal)            # the one line
    from vae_celeba.config import Config
    from vae_celeba.evaluation import evaluate
    from vae_celeba.run import model_from_checkpoint
    from vae_celeba.training import Trainer
    t = Trainer(Config.tiny(prior='shifted', epochs=1, synthetic_size=200, num_workers=0, prior_images=150,
                            output_dir=str(tmp_path/'run'), cache_dir=str(tmp_path/'cache')))
    t.out.verbose = False
    t.fit()
    model, ck = model_from_checkpoint(t.run.last)
    assert ck['latent_prior']['kind'] == 'shifted' and isinstance(model.prior, ShiftedNormal)
    assert model.prior.images == 150 and model.prior.mean.abs().sum() > 0         # fitted to the run's codes, and stored
    eps = torch.randn(3, model.settings.latent_dim)
    with torch.no_grad(): torch.testing.assert_close(model.sample(3, 0.5, eps=eps), model.decode(model.prior.mean + 0.5 * eps))
    m = evaluate(t.run.best, tmp_path/'eval', bpd_images=4, fid_images=0, device='cpu')   # what vae_celeba_evaluate runs
    assert m['prior'] == model.prior.describe(), m['prior']
    assert (tmp_path/'eval'/'metrics.json').exists()

def test_an_unknown_prior_is_refused_by_name():
    from vae_celeba.config import Config, ConfigError
    with pytest.raises(ConfigError, match=r"config key 'prior': 'vamp' is not one of \['standard', 'fitted', 'flow'\]"):
        Config.tiny(prior='vamp')

@pytest.mark.parametrize('name', list(PRIORS))
def test_every_prior_is_standard_normal_until_fitted(name):
    "The interface's promise that the model and the trainer rely on: an unfitted prior samples and scores as N(0, I)."
    p, z = priors.make_prior(name, 6), torch.randn(5, 6)
    eps = torch.randn(5, 6)
    torch.testing.assert_close(p.sample(5, 0.7, eps=eps), 0.7 * eps)
    torch.testing.assert_close(p.log_prob(z).detach(), torch.distributions.Normal(0., 1.).log_prob(z).sum(1))

def _names(tree):
    "Every identifier and string constant in a module's code (docstrings included, comments not)."
    for node in ast.walk(tree):
        if isinstance(node, ast.Name): yield node.id
        elif isinstance(node, ast.Attribute): yield node.attr
        elif isinstance(node, ast.alias): yield node.name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str): yield node.value

def test_no_module_but_priors_names_a_prior():
    "Adding a prior touches vae_celeba/priors.py alone: no other module names a prior class or compares with a prior's name."
    classes = {c.__name__ for c in PRIORS.values()} | {'AffineCoupling'}
    kinds = set(PRIORS) - {'standard'}        # 'standard' is the config's default value, and names no implementation
    bad = []
    for path in (ROOT/'vae_celeba').glob('*.py'):
        if path.stem in ('priors', '_modidx'): continue
        found = set(_names(ast.parse(path.read_text())))
        bad += [f"{path.name}: {n}" for n in sorted(found & (classes | kinds))]
    assert not bad, f"modules that name a prior implementation: {bad}"

class WithExtraTerm(torch.nn.Module):
    "The project's loss plus a term no part of vae_celeba has heard of."
    def __init__(self, crit):
        super().__init__()
        self.crit = crit
    def forward(self, *args, **kw):
        return dict(self.crit(*args, **kw), novelty=torch.tensor(7.0))

def test_a_new_loss_term_reaches_step_rows_epoch_means_validation_and_the_plot(tmp_path):
    from vae_celeba.config import Config
    from vae_celeba.losses import VAELoss
    from vae_celeba.run import curve_terms, read_history
    from vae_celeba.training import Trainer
    cfg = Config.tiny(epochs=2, synthetic_size=200, num_workers=0, log_every=1, output_dir=str(tmp_path/'run'), cache_dir=str(tmp_path/'cache'))
    t = Trainer(cfg, loss=WithExtraTerm(VAELoss.from_config(cfg)))
    t.out.verbose = False
    t.fit()
    rows = read_history(t.run.history)
    steps, epochs = [r for r in rows if r['kind'] == 'step'], [r for r in rows if r['kind'] == 'epoch']
    assert steps and all(r['novelty'] == 7.0 for r in steps)
    assert len(epochs) == 2 and all(r['train']['novelty'] == 7.0 and r['valid']['novelty'] == 7.0 for r in epochs)
    assert 'novelty' in curve_terms(epochs) and (t.run.plots/'loss_curves.png').stat().st_size > 1000

def test_a_checkpoint_written_before_priors_had_kinds_still_loads_and_samples_the_same():
    "tests/fixtures/tiny_v0_best.pt: the tiny preset with prior=fitted, best.pt as vae_celeba wrote it at commit 02bb8f1."
    from vae_celeba.run import model_from_checkpoint
    fixtures = ROOT/'tests'/'fixtures'
    model, ck = model_from_checkpoint(fixtures/'tiny_v0_best.pt')
    assert 'kind' not in ck['latent_prior']                                  # the old format, untouched
    assert (model.prior.kind, model.prior.images, len(model.prior.weights)) == ('fitted', 80, 2)
    want = torch.load(fixtures/'tiny_v0_sample.pt', weights_only=True)['sample']
    got = model.sample(2, 0.7, generator=torch.Generator().manual_seed(0))[:, :, :8, :8]
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4)   # fp32 sums of a few hundred terms, in any order: ~1e-6

def test_a_checkpoint_whose_prior_was_never_fitted_says_so(tmp_path):
    "#23: killed while fitting, a run's checkpoint asks for a fitted prior and has none; evaluation must not call that N(0, I) silently."
    from vae_celeba.evaluation import prior_description
    from vae_celeba.run import model_from_checkpoint
    ck = torch.load(ROOT/'tests'/'fixtures'/'tiny_v0_best.pt', weights_only=True)
    del ck['latent_prior']
    torch.save(ck, tmp_path/'best.pt')
    model, _ = model_from_checkpoint(tmp_path/'best.pt')
    d = prior_description(model)
    assert d.startswith("N(0, I): the config's prior 'fitted' was never fitted") and 'add_fitted_prior' in d, d

def test_a_renamed_training_setting_leaves_old_checkpoints_readable_for_evaluation(tmp_path, capsys):
    """#22: a checkpoint of format 1 (the fixture) whose run settings hold a key this version does not have, as after a
    rename: evaluation reads it (leaving the key out, with a note); resuming from it is refused, naming the key."""
    from vae_celeba.evaluation import evaluate
    from vae_celeba.run import CheckpointError, checkpoint_config, model_from_checkpoint
    ck = torch.load(ROOT/'tests'/'fixtures'/'tiny_v0_best.pt', weights_only=True)
    assert 'format' not in ck and 'model_settings' not in ck                  # written before either existed
    ck['config']['an_old_training_key'] = 3
    ck['config']['cache_dir'] = str(tmp_path/'cache')
    torch.save(ck, tmp_path/'best.pt')
    model, _ = model_from_checkpoint(tmp_path/'best.pt')
    assert 'an_old_training_key' not in capsys.readouterr().out               # the model reads its own settings only
    assert (model.settings.latent_dim, model.settings.base_channels) == (ck['config']['latent_dim'], ck['config']['base_channels'])
    m = evaluate(tmp_path/'best.pt', tmp_path/'eval', bpd_images=4, fid_images=0, device='cpu')
    assert m['step'] == ck['step'] and (tmp_path/'eval'/'metrics.json').exists()
    assert capsys.readouterr().out.count('left out: an_old_training_key') == 1  # evaluation reads the run's, with one note
    with pytest.raises(CheckpointError, match='an_old_training_key'): checkpoint_config(ck, tmp_path/'best.pt')

def test_checkpoints_carry_their_format_and_the_model_settings_apart(tmp_path):
    from vae_celeba.config import Config
    from vae_celeba.run import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint, model_from_checkpoint
    from vae_celeba.training import Trainer
    t = Trainer(Config.tiny(max_steps=2, synthetic_size=100, num_workers=0, output_dir=str(tmp_path/'run'),
                            cache_dir=str(tmp_path/'cache')))
    t.out.verbose = False
    t.fit()
    for path in (t.run.last, t.run.best):
        ck = load_checkpoint(path)
        assert ck['format'] == CHECKPOINT_FORMAT == 2, path
        assert ck['model_settings'] == dict(image_size=64, latent_dim=16, base_channels=8, prior='standard',
                                            prior_components=10, prior_images=20000), ck['model_settings']
    ck['config']['latent_dim'] = 99                          # the model's settings are read from their own entry
    torch.save(ck, tmp_path/'best.pt')
    assert model_from_checkpoint(tmp_path/'best.pt')[0].settings.latent_dim == 16
    ck['format'] = CHECKPOINT_FORMAT + 1
    torch.save(ck, tmp_path/'newer.pt')
    with pytest.raises(CheckpointError, match=r'written by a newer vae_celeba \(checkpoint format 3; this version reads up to 2\)'):
        load_checkpoint(tmp_path/'newer.pt')

class NoiseImages(torch.utils.data.Dataset):
    "A test-only data set's decode job: uniform noise images, (name, image, attributes, error) as `CachePlan` wants."
    def __init__(self, idx, size): self.idx, self.size = list(idx), size
    def __len__(self): return len(self.idx)
    def __getitem__(self, i):
        import numpy as np
        return f'noise-{self.idx[i]}', np.random.default_rng(self.idx[i]).integers(0, 256, (3, self.size, self.size), dtype=np.uint8), None, None

def noise_plan(cfg):
    from vae_celeba.data import CACHE_VERSION, CachePlan
    idx = dict(train=range(0, 100), valid=range(100, 110), test=range(110, 120))
    return CachePlan(dict(version=CACHE_VERSION, source=dict(dataset=cfg.dataset, n=120), files_hash='none',
                          preprocess=dict(image_size=cfg.image_size, crop='none')),
                     {s: NoiseImages(r, cfg.image_size) for s, r in idx.items()}, 'index ranges', [])

def test_a_dataset_registered_in_one_line_is_prepared_trained_on_and_evaluated(tmp_path, monkeypatch):
    from vae_celeba.data import DATASETS, DataSource
    monkeypatch.setitem(DATASETS, 'noise', DataSource(lambda cfg: f'noise-{cfg.image_size}', noise_plan, lambda cfg: 'noise'))
    from vae_celeba.config import Config
    from vae_celeba.evaluation import evaluate
    from vae_celeba.training import Trainer
    t = Trainer(Config.tiny(dataset='noise', epochs=1, num_workers=0, output_dir=str(tmp_path/'run'), cache_dir=str(tmp_path/'cache')))
    t.out.verbose = False
    t.fit()
    assert (tmp_path/'cache'/'noise-64'/'train.npy').exists() and t.state.step == 100 // t.cfg.batch_size
    m = evaluate(t.run.best, tmp_path/'eval', bpd_images=4, fid_images=0, device='cpu')
    assert m['n_test_images'] == 10

def test_no_module_but_data_names_a_dataset():
    "Adding a data set touches vae_celeba/data.py alone: no other module compares `dataset` with a name."
    bad = []
    for path in (ROOT/'vae_celeba').glob('*.py'):
        if path.stem in ('data', '_modidx', 'synthetic'): continue
        found = set(_names(ast.parse(path.read_text())))
        names = {'celeba_plan', 'synthetic_plan', 'maybe_download'} | ({'synthetic'} if path.stem != 'config' else set())
        bad += [f"{path.name}: {n}" for n in sorted(found & names)]   # (config's defaults name data sets: values, not code)
    assert not bad, f"modules that name a data set's implementation: {bad}"
