"""What a notebook cell cannot check: the installed package and its command line, from outside the repo."""
import subprocess, sys
from conftest import console_script, ROOT

def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)

def test_import_from_elsewhere(tmp_path):
    r = run([sys.executable, '-c', 'import vae_celeba, vae_celeba.model as m; print(vae_celeba.__version__, m.VAE.__name__)'], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [vae_celeba_version(), 'VAE']

def vae_celeba_version():
    for line in (ROOT/'settings.ini').read_text().splitlines():
        if line.startswith('version'): return line.split('=')[1].strip()

def test_summary_cli(tmp_path):
    r = run([console_script('vae_celeba_summary'), '--steps', '1', '--batch_size', '2', 'latent_dim=8', 'base_channels=8'], tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'latent 8, base channels 8' in r.stdout
    assert 'images/s' in r.stdout and 'bf16 autocast' in r.stdout

def test_summary_cli_default_model(tmp_path):
    r = run([console_script('vae_celeba_summary'), '--steps', '0'], tmp_path)
    assert r.returncode == 0, r.stderr
    from vae_celeba.model import VAE
    n = sum(p.numel() for p in VAE().parameters())
    assert f'parameters: {n:,} ' in r.stdout, r.stdout
    assert 'latent 256, base channels 64' in r.stdout

def test_summary_cli_bad_key(tmp_path):
    r = run([console_script('vae_celeba_summary'), '--steps', '0', 'latent_dims=8'], tmp_path)
    assert r.returncode != 0
    assert "unknown config key 'latent_dims': did you mean 'latent_dim'?" in r.stderr
    assert 'Traceback' not in r.stderr

def test_summary_cli_bad_file(tmp_path):
    (tmp_path/'bad.yaml').write_text('batch_size: -3\n')
    r = run([console_script('vae_celeba_summary'), '--config', 'bad.yaml', '--steps', '0'], tmp_path)
    assert r.returncode != 0 and "'batch_size': -3 is not allowed" in r.stderr and 'bad.yaml' in r.stderr
