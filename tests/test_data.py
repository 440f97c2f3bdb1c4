"""Data tests that need processes: killing `prepare` mid-write, and the `vae_celeba_prepare` command line."""
import json, os, signal, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
import pytest
from conftest import console_script, SHARED_SAMPLE, tmpfs
from vae_celeba.config import Config
from vae_celeba.data import make_fake_celeba, prepare, cache_folder, SPLITS

PREPARE = """
import sys, warnings
warnings.simplefilter('ignore')
from vae_celeba.config import Config
from vae_celeba.data import prepare
prepare(Config(dataset='celeba', data_dir=sys.argv[1], cache_dir=sys.argv[2], num_workers=0, download=False), quiet=True)
print('done')
"""

def cache_state(folder: Path):
    "'none' (no manifest) or 'complete' (manifest and arrays agree); anything else fails the test."
    m = folder/'manifest.json'
    if not m.exists(): return 'none'
    man = json.loads(m.read_text())
    for s in SPLITS:
        a = np.load(folder/f'{s}.npy', mmap_mode='r')
        assert a.shape == (man['counts'][s], 3, 64, 64), f"{s}: array {a.shape} does not match the manifest"
        assert len((folder/f'{s}.txt').read_text().split()) == man['counts'][s]
    return 'complete'

def test_kill_during_prepare(tmp_path):
    data = make_fake_celeba(tmp_path/'celeba', n=400, size=(178, 218))
    cache = tmp_path/'cache'
    folder = cache_folder(Config(dataset='celeba', cache_dir=str(cache)))
    states = []
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        p = subprocess.Popen([sys.executable, '-c', PREPARE, str(data), str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL); p.wait()
        states.append(cache_state(folder))
        if (folder/'manifest.json').exists(): (folder/'manifest.json').unlink()   # force the next run to rebuild
    assert 'none' in states, f"no kill landed mid-write: {states}"
    # after any kill, the next prepare completes the cache
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        prepare(Config(dataset='celeba', data_dir=str(data), cache_dir=str(cache), num_workers=0, download=False), quiet=True)
    assert cache_state(folder) == 'complete'
    assert sum(json.loads((folder/'manifest.json').read_text())['counts'].values()) == 400
    assert sorted(p.name for p in folder.glob('.*') if p.name != '.lock') == [], "temporary files of the killed runs were left behind"
    # (the killed runs' .lock stays, unlocked: the kernel released it with them, and this prepare took it over)

def run(args, cwd, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)

def test_prepare_cli(tmp_path):
    data = make_fake_celeba(tmp_path/'celeba', 'kaggle', n=30)
    r = run([console_script('vae_celeba_prepare'), '--data-dir', str(data), '--cache-dir', str(tmp_path/'cache'), 'download=false'], tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'cache ready in' in r.stdout and 'filename-hash' in r.stdout
    assert 'note: the CelebA split file has 0 valid and 0 test images' in r.stderr, r.stderr   # a partial download, said plainly
    assert 'UserWarning' not in r.stderr and 'warn(' not in r.stderr, r.stderr
    assert (tmp_path/'cache'/'celeba-64'/'manifest.json').exists()

def test_prepare_cli_missing_data(tmp_path):
    r = run([console_script('vae_celeba_prepare'), '--data-dir', str(tmp_path/'nothing'), 'download=false'], tmp_path)
    assert r.returncode != 0
    assert 'does not exist' in r.stderr and 'To get CelebA by hand' in r.stderr and 'Traceback' not in r.stderr

def test_prepare_cli_synthetic(tmp_path):
    r = run([console_script('vae_celeba_prepare'), '--dataset', 'synthetic', '--cache-dir', str(tmp_path/'c'), 'synthetic_size=60'], tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'train 54, valid 3, test 3' in r.stdout

@pytest.mark.skipif(not SHARED_SAMPLE.is_dir(), reason='the shared CelebA sample is not on this machine')
def test_prepare_real_sample_cli(tmp_path):
    r = run([console_script('vae_celeba_prepare'), '--data-dir', str(SHARED_SAMPLE), '--cache-dir', str(tmp_path/'c'), 'download=false'], tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'c'/'celeba-64'/'manifest.json').read_text())
    assert sum(m['counts'].values()) == 8002 and m['skipped'] == 0 and m['source']['layout'] == 'official'

WRITE_SPLIT = """
import sys
import numpy as np
from pathlib import Path
from vae_celeba.data import _write_split
rows = ((f'x{i}', np.full((3, 64, 64), i % 256, np.uint8), None, None) for i in range(200))
try: _write_split(Path(sys.argv[1]), 'train', 200, 64, rows)
except OSError as e: print('OSError', e.errno); raise SystemExit(3)
print('written')
"""

@pytest.fixture
def small_disk(tmp_path):
    "A 1 MB tmpfs: a real file system that fills up. Skipped where this process may not mount one."
    mnt = tmp_path/'disk'; mnt.mkdir()
    if os.geteuid() != 0: pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try: yield mnt
    finally: subprocess.run(['umount', str(mnt)], check=True)

def test_full_disk(small_disk):
    "A cache larger than the disk is refused before any work; an array that fills the disk is an error, not a SIGBUS."
    r = run([console_script('vae_celeba_prepare'), 'dataset=synthetic', 'synthetic_size=200', f'cache_dir={small_disk}'], small_disk)
    assert r.returncode == 1 and 'the cache needs 2 MiB' in r.stderr and 'MiB are free' in r.stderr, r.stderr
    folder = small_disk/'x'; folder.mkdir()     # write past the free space directly (what a disk filling up meanwhile does)
    r = run([sys.executable, '-c', WRITE_SPLIT, str(folder)], small_disk)
    assert r.returncode == 3 and 'OSError 28' in r.stdout, (r.returncode, r.stdout, r.stderr[-500:])   # 28: ENOSPC; -7 would be SIGBUS

def test_prepare_cli_finds_a_damaged_cache(tmp_path):
    "#23: bytes flipped in the middle of a cached train.npy were trained on silently; vae_celeba_prepare now says so."
    args = [console_script('vae_celeba_prepare'), '--dataset', 'synthetic', '--cache-dir', str(tmp_path/'c'), 'synthetic_size=60']
    assert run(args, tmp_path).returncode == 0
    f = tmp_path/'c'/'synthetic-64-n60-s0'/'train.npy'
    with open(f, 'r+b') as fh:
        fh.seek(f.stat().st_size // 2); b = fh.read(50_000); fh.seek(-len(b), 1); fh.write(bytes(255 - x for x in b))
    r = run(args, tmp_path)
    assert r.returncode == 1 and 'train.npy no longer match(es) the checksum' in r.stderr and '--force' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
    assert run([*args, '--force'], tmp_path).returncode == 0 and run(args, tmp_path).returncode == 0   # rebuilt, and intact
