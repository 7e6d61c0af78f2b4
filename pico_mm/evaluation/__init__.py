"""Evaluation utilities that need neither mmseg nor mmdet nor mmengine.

The mmseg metrics (e.g. fIoU) live in this folder too but are imported only from
``pico_mm.seg`` so that ``import pico_mm.evaluation`` stays pure torch.
"""
from .correspondence_probe import (ProbePair, cell_centres, cell_size,
                                   chance_accuracy, correspondence_accuracy,
                                   embed_pairs, match_points, point_results,
                                   probe_pairs_from_tracks, run_probe,
                                   sample_features, summarize,
                                   zero_motion_hits)
from .exact_gt_benchmark import (exact_gt_columns, format_table, headline,
                                 mean_std, run_exact_gt, score_pair_features)
from .exact_gt_pairs import (KINDS, PAIRSET_VERSION, ExactPair, ExactPairSet,
                             make_pair_set)

__all__ = [
    'ProbePair', 'cell_centres', 'cell_size', 'chance_accuracy',
    'correspondence_accuracy', 'embed_pairs', 'match_points', 'point_results',
    'probe_pairs_from_tracks', 'run_probe', 'sample_features', 'summarize',
    'zero_motion_hits', 'exact_gt_columns', 'format_table', 'headline',
    'mean_std', 'run_exact_gt', 'score_pair_features', 'KINDS',
    'PAIRSET_VERSION', 'ExactPair', 'ExactPairSet', 'make_pair_set'
]
