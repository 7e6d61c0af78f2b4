"""Test-suite wide isolation.

mmengine keeps "current" global instances (``DefaultScope``, created by every
Runner and by ``init_default_scope``); a test that ran an mmdet/mmseg Runner
would otherwise leave ``default_scope='mmdet'`` active for the next test, and
``mmselfsup.registry.MODELS.build(...)`` would then look in mmdet's registry.
"""
import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _reset_mmengine_default_scope():
    yield
    if 'mmengine.registry' in sys.modules:
        from mmengine.registry import DefaultScope
        DefaultScope._instance_dict.clear()


# Shared test helpers (tests/ is not a package): `from pico_test_tools import ...`.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '_helpers'))
