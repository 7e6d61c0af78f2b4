"""PiCo training data: correspondence dataset and point-preserving views.

Importing this module registers ``VideoCorrespondenceDataset`` in mmselfsup's
``DATASETS`` and the view transforms in its ``TRANSFORMS``.
"""
from .transforms import (CorrespondenceViews, PackPiCoInputs, PointRandomFlip,
                         PointRandomResizedCrop, PointResize)
from .video_correspondence_dataset import SAMPLERS, VideoCorrespondenceDataset
from .lru_cache import LRUCache

__all__ = [
    'VideoCorrespondenceDataset', 'SAMPLERS', 'CorrespondenceViews',
    'PackPiCoInputs', 'PointRandomFlip', 'PointRandomResizedCrop',
    'PointResize', 'LRUCache'
]
