import os, shutil, sys
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
