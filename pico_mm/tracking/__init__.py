"""Point tracking on stored optical flow (pure numpy/torch, no mmengine).

Public API (see ``docs/tracking.md`` and ``docs/contracts.md``):
``load_tracks``, ``save_tracks``, ``Tracks``, ``anchor_sample``,
``random_sample``, ``FrameSample``, ``PointTracker``, ``track_video``.
"""
from .sampling import FrameSample, anchor_sample, endpoint_counts, random_sample
from .track_file import TrackFileError, load_tracks, save_tracks
from .tracker import PointTracker, sample_seeds, track_video
from .tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                     STOP_MOTION_BOUNDARY, STOP_NAMES, STOP_SATURATED,
                     LooserThresholdError, Tracks)

__all__ = [
    'FrameSample', 'anchor_sample', 'random_sample', 'endpoint_counts',
    'TrackFileError', 'load_tracks', 'save_tracks', 'PointTracker',
    'sample_seeds', 'track_video', 'Tracks', 'STOP_END', 'STOP_LEFT',
    'STOP_INCONSISTENT', 'STOP_MOTION_BOUNDARY', 'STOP_SATURATED',
    'STOP_NAMES', 'LooserThresholdError'
]
