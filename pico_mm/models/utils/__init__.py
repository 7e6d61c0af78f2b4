"""Model utilities: pixel queue, point sampling, MoCo checkpoint loading."""
from .moco_checkpoint import convert_moco_state_dict, load_moco_backbone
from .pair_stats import global_mean_count
from .pixel_queue import PixelQueue
from .point_sampling import points_to_grid, sample_points

__all__ = [
    'PixelQueue', 'points_to_grid', 'sample_points', 'convert_moco_state_dict',
    'load_moco_backbone', 'global_mean_count'
]
