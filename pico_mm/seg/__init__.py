"""pico_mm components for MMSegmentation (registered into mmseg's registries).

Downstream configs load them with
``custom_imports=dict(imports=['pico_mm.seg'], allow_failed_imports=False)``.
This is the only place (with ``pico_mm.det``) that imports mmseg; plain
``import pico_mm`` never does.
"""
import pico_mm  # noqa: F401  (torch.load compatibility patch, registries)
from pico_mm.utils.version_check import check_versions

check_versions(['mmsegmentation'])

from pico_mm.evaluation.fiou_metric import (FIoUMetric,  # noqa: E402
                                            frequency_weighted_iou)
from pico_mm.utils.strict_load import load_state_dict_strict  # noqa: E402

from .frozen_dense_encoder import FrozenDenseEncoder  # noqa: E402
from .linear_depth_head import LinearDepthHead  # noqa: E402
from .linear_probe_head import LinearProbeHead  # noqa: E402

__all__ = [
    'FIoUMetric', 'frequency_weighted_iou', 'FrozenDenseEncoder',
    'load_state_dict_strict', 'LinearDepthHead', 'LinearProbeHead'
]
