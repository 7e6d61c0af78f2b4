"""pico_mm components for MMDetection (registered into mmdet's registries).

Downstream configs load them with
``custom_imports=dict(imports=['pico_mm.det'], allow_failed_imports=False)``.
"""
import pico_mm  # noqa: F401  (torch.load compatibility patch)

from .frozen_fpn import FrozenFPN

__all__ = ['FrozenFPN']
