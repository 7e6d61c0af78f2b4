"""pico_mm: PiCo (pixel-level correspondence from video) for OpenMMLab.

``import pico_mm``:

* applies :mod:`pico_mm.utils.checkpoint_compat` (mmengine 0.10.7 checkpoints
  load under torch >= 2.6);
* registers the pre-training modules (models, datasets, transforms, hooks)
  into mmselfsup's registries, when the OpenMMLab stack is installed.

It never imports mmseg or mmdet: their pieces live in :mod:`pico_mm.seg` and
:mod:`pico_mm.det`. The preprocessing core (:mod:`pico_mm.flow`,
:mod:`pico_mm.tracking`) imports without mmengine/mmcv.

Before anything else it checks the installed versions against the supported
ranges (:mod:`pico_mm.utils.version_check`): torch always, the rest of the
OpenMMLab stack when mmengine is installed. A version outside its range is an
``ImportError`` naming the package and the range.
"""
import importlib.util
import sys

__version__ = '0.1.0'


def _has(name):
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # e.g. sys.modules[name] = None
        return False


from .utils.version_check import check_versions  # noqa: E402

check_versions(['torch', 'torchvision', 'numpy', 'mmengine', 'mmcv', 'mmcls',
                'mmselfsup'] if _has('mmengine') else ['torch'])

if _has('mmengine'):
    from .utils.checkpoint_compat import apply_checkpoint_compat

    apply_checkpoint_compat()


def _import_mmselfsup_models():
    """Import ``mmselfsup.models`` without dragging mmdet in.

    ``mmselfsup/models/utils/res_layer_extra_norm.py`` does
    ``try: from mmdet... except ImportError`` to register a Res-C4 layer for
    mmselfsup's own detection benchmarks into mmdet's registry. pico_mm does
    not use it, and pre-training processes should not import (and initialise
    the registries of) mmdet, so mmdet is hidden for that one import when it
    is not imported already. MMDet processes import :mod:`pico_mm.det`, which
    imports mmdet first, so nothing is hidden there.
    """
    if 'mmdet' in sys.modules:
        import mmselfsup.models  # noqa: F401
        return
    sys.modules['mmdet'] = None  # makes `import mmdet...` raise ImportError
    try:
        import mmselfsup.models  # noqa: F401
    finally:
        if sys.modules.get('mmdet', 0) is None:
            del sys.modules['mmdet']


def _fix_mmselfsup_registry_locations():
    """Drop registry locations that the mmselfsup 1.0.0 wheel does not ship.

    ``mmselfsup/registry.py`` declares ``locations=['mmselfsup.engine.runner']``
    for RUNNERS, RUNNER_CONSTRUCTORS and LOOPS, but the wheel has no such
    module; mmengine 0.10.7 imports a registry's locations on lookup, so any
    Runner with ``default_scope='mmselfsup'`` dies with
    ``ModuleNotFoundError: No module named 'mmselfsup.engine.runner'``.
    """
    from mmselfsup import registry
    if importlib.util.find_spec('mmselfsup.engine.runner') is not None:
        return
    for reg in (registry.RUNNERS, registry.RUNNER_CONSTRUCTORS, registry.LOOPS):
        reg._locations = [loc for loc in reg._locations
                          if loc != 'mmselfsup.engine.runner']


if _has('mmselfsup') and _has('mmcv') and _has('mmengine'):
    _import_mmselfsup_models()  # first: later mmselfsup imports pull it in
    _fix_mmselfsup_registry_locations()
    # Registration side effects into mmselfsup's registries.
    from . import datasets, engine, models  # noqa: F401,E402
