"""The YAML files in configs/ load, and config.yaml is the built-in default run (so the two cannot drift apart)."""
from dataclasses import fields
import pytest, yaml
from conftest import ROOT
from vae_celeba.config import Config, load_config

CONFIGS = sorted((ROOT/'configs').glob('*.yaml'))

@pytest.mark.parametrize('path', CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_loads(path):
    assert isinstance(load_config(path), Config)

def test_config_yaml_is_the_default_run():
    path = ROOT/'configs'/'config.yaml'
    assert set(yaml.safe_load(path.read_text())) == {f.name for f in fields(Config)}, "config.yaml should list every key"
    assert load_config(path) == Config()
