"""pico_mm: PiCo (pixel-level correspondence from video) for OpenMMLab.

``import pico_mm``:

* applies :mod:`pico_mm.utils.checkpoint_compat` (mmengine 0.10.7 checkpoints
  load under torch >= 2.6);
* registers the pre-training modules (models, datasets, transforms, hooks)
  into mmselfsup's registries, when the OpenMMLab stack is installed.

It never imports mmseg or mmdet: their pieces live in :mod:`pico_mm.seg` and
:mod:`pico_mm.det`. The preprocessing core (:mod:`pico_mm.flow`,
:mod:`pico_mm.tracking`) imports without mmengine/mmcv.
"""
import importlib.util

__version__ = '0.1.0'


def _has(name):
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # e.g. sys.modules[name] = None
        return False


if _has('mmengine'):
    from .utils.checkpoint_compat import apply_checkpoint_compat

    apply_checkpoint_compat()

if _has('mmselfsup') and _has('mmcv'):
    # Registration side effects into mmselfsup's registries.
    from . import datasets, engine, models  # noqa: F401,E402
