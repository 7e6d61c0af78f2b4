"""Point tracking on stored optical flow (pure numpy/torch, no mmengine).

Public API (see ``docs/tracking.md`` and ``docs/contracts.md``):
``load_tracks``, ``save_tracks``, ``open_tracks``, ``TrackIndex``,
``Tracks``, ``anchor_sample``, ``anchor_frames``, ``pairs``,
``random_sample``, ``FrameSample``, ``PointTracker``, ``track_video``.
"""
from .sampling import (FrameSample, anchor_frames, anchor_sample,
                       endpoint_counts, pair_ids, pairs, random_frames,
                       random_sample)
from .track_file import (TrackFileError, file_version, load_tracks,
                         open_tracks, save_tracks)
from .track_index import TrackIndex
from .tracker import PointTracker, sample_seeds, track_video
from .tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                     STOP_MOTION_BOUNDARY, STOP_NAMES, STOP_SATURATED,
                     LooserThresholdError, Tracks)

__all__ = [
    'FrameSample', 'anchor_sample', 'random_sample', 'endpoint_counts',
    'anchor_frames', 'random_frames', 'pair_ids', 'pairs', 'TrackIndex',
    'open_tracks', 'file_version', 'TrackFileError', 'load_tracks',
    'save_tracks', 'PointTracker',
    'sample_seeds', 'track_video', 'Tracks', 'STOP_END', 'STOP_LEFT',
    'STOP_INCONSISTENT', 'STOP_MOTION_BOUNDARY', 'STOP_SATURATED',
    'STOP_NAMES', 'LooserThresholdError'
]
