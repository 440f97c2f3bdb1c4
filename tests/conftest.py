import contextlib, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = ROOT.parent/'shared'/'data'/'celeba-sample'

def console_script(name:str) -> str:
    "Path of an installed console script of this project (beside the running Python first)."
    p = Path(sys.executable).parent/name
    found = str(p) if p.exists() else shutil.which(name)
    if not found: pytest.fail(f"console script {name} is not installed: run `pip install -e .`")
    return found

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: minutes of CPU on real data (deselect with -m "not slow")')

@contextlib.contextmanager
def tmpfs(mnt:Path, size:str='1m', read_only:bool=False):
    "A real, small file system mounted at `mnt` (a tmpfs; remounted read-only if asked); skips the test where mounting is not allowed."
    mnt.mkdir(exist_ok=True)
    if os.geteuid() != 0: pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        if read_only: subprocess.run(['mount', '-o', 'remount,ro', str(mnt)], check=True)
        yield mnt
    finally: subprocess.run(['umount', str(mnt)], check=True)
