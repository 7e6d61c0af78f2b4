"""Model utilities: pixel queue, point sampling, MoCo checkpoint loading,
pair counts and the key shuffle across processes."""
from .key_shuffle import has_train_batchnorm, shuffle_keys_ddp
from .moco_checkpoint import convert_moco_state_dict, load_moco_backbone
from .pair_stats import global_mean_count
from .pixel_queue import PixelQueue
from .point_pairs import collect_points, select_pairs
from .point_sampling import points_to_grid, sample_points

__all__ = [
    'PixelQueue', 'points_to_grid', 'sample_points', 'convert_moco_state_dict',
    'load_moco_backbone', 'global_mean_count', 'has_train_batchnorm',
    'shuffle_keys_ddp', 'collect_points', 'select_pairs'
]
