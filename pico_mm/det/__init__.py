"""pico_mm components for MMDetection (registered into mmdet's registries).

Downstream configs load them with
``custom_imports=dict(imports=['pico_mm.det'], allow_failed_imports=False)``.
"""
import pico_mm  # noqa: F401  (torch.load compatibility patch)
from pico_mm.utils.version_check import check_versions

check_versions(['mmdet'])

from .frozen_fpn import FrozenFPN  # noqa: E402
from .frozen_mask_rcnn import FrozenMaskRCNN  # noqa: E402

__all__ = ['FrozenFPN', 'FrozenMaskRCNN']
