"""Every config under configs/ loads with Config.fromfile and its model builds."""
import glob
import os

import pytest

import pico_mm  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(os.path.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p.split(os.sep))


def test_there_are_configs():
    assert len(CONFIGS) > 0


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: os.path.relpath(p, REPO))
def test_config_loads_and_model_builds(path):
    cfg = Config.fromfile(path)
    assert 'model' in cfg, f'{path} defines no model'
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'mmselfsup')
    init_default_scope(scope)
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
