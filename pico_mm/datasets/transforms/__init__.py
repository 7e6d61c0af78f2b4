"""PiCo view transforms (registered in mmselfsup's TRANSFORMS)."""
from .correspondence_views import CorrespondenceViews
from .pack_pico_inputs import PackPiCoInputs
from .point_random_flip import PointRandomFlip
from .point_random_resized_crop import PointRandomResizedCrop
from .point_resize import PointResize

__all__ = [
    'CorrespondenceViews', 'PackPiCoInputs', 'PointRandomFlip',
    'PointRandomResizedCrop', 'PointResize'
]
