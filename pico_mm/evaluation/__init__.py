"""Evaluation utilities that need neither mmseg nor mmdet nor mmengine.

The mmseg metrics (e.g. fIoU) live in this folder too but are imported only from
``pico_mm.seg`` so that ``import pico_mm.evaluation`` stays pure torch.
"""
from .correspondence_probe import (ProbePair, cell_centres, chance_accuracy,
                                   correspondence_accuracy, match_points,
                                   probe_pairs_from_tracks, run_probe,
                                   sample_features, zero_motion_hits)

__all__ = [
    'ProbePair', 'cell_centres', 'chance_accuracy', 'correspondence_accuracy',
    'match_points', 'probe_pairs_from_tracks', 'run_probe', 'sample_features',
    'zero_motion_hits'
]
