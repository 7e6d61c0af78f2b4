"""Where a training sample's point pairs come from: its clip's track file.

A format-2 track file (what ``tools/data/track_points.py`` writes, or
``tools/data/convert_tracks.py`` makes of an old one) is opened as a
:class:`pico_mm.tracking.TrackIndex`: the sample reads the per-track table at
the configured alpha/beta and the point rows of its two frames (tens of KB),
never the whole file. An old (format-1) file is read whole and re-thresholded
on every cache miss, with a one-time warning that says how to convert it.
"""
import logging
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from pico_mm.tracking import (anchor_frames, open_tracks, pair_ids, pairs,
                              random_frames)
from pico_mm.tracking.tracks import Tracks

_warned_old = False


def find_track_file(info: Dict, suffix: str) -> Optional[str]:
    """Track file of a dataset item.

    ``<tracks>/<rel minus ext><suffix>`` (what ``tools/data/track_points.py``
    writes) or ``<tracks>/<rel><suffix>``; a snippet item carries its own
    file. Returns None when no track folder is configured.
    """
    if info.get('track_file'):
        return info['track_file']
    if info['track_dir'] is None:
        return None
    rel = info['rel_path'].rstrip('/')
    cands = [osp.splitext(rel)[0] + suffix, rel + suffix]
    for cand in cands:
        path = osp.join(info['track_dir'], cand)
        if osp.isfile(path):
            return path
    return osp.join(info['track_dir'], cands[0])


def open_clip_tracks(path: Optional[str], alpha: Optional[float],
                     beta: Optional[float]):
    """Open a clip's tracks for sampling (format 1 warns once per process).

    Returns:
        TrackIndex | Tracks: see :func:`pico_mm.tracking.open_tracks`.

    Raises:
        FileNotFoundError: no track file (names the fix).
    """
    if path is None or not osp.isfile(path):
        raise FileNotFoundError(
            f'track file missing: {path} (run tools/data/track_points.py '
            'or set data_prefix.tracks)')
    tracks = open_tracks(path, alpha=alpha, beta=beta)
    global _warned_old
    if isinstance(tracks, Tracks) and not _warned_old:
        _warned_old = True
        print_log(
            f'VideoCorrespondenceDataset: {path} is an old (format-1) track '
            'file: every sample of a clip not in the cache reads it whole and '
            're-thresholds it (slow at Kinetics scale). Convert the folder '
            'once with python tools/data/convert_tracks.py TRACK_DIR '
            '(in place, temp + rename; docs/tracking.md). (Shown once per '
            'process.)', logger='current', level=logging.WARNING)
    return tracks


def sample_pairs(tracks, sampler: str, k: int, min_pairs: int,
                 rng: np.random.Generator
                 ) -> Tuple[Tuple[int, int], np.ndarray, np.ndarray]:
    """Frames and tracked pairs of one sample (the rng draws of
    ``anchor_sample`` / ``random_sample`` and the frame choice after them).

    Only the chosen frame's pairs are read (``pairs``); the other top-K
    frames are counted from the per-track table.

    Args:
        tracks (TrackIndex | Tracks): Opened tracks.
        sampler (str): ``'random'`` or a sampler built on anchor sampling.
        k (int): Top-K.
        min_pairs (int): Fewest pairs a frame needs (anchor sampling).
        rng (np.random.Generator): Source of randomness.

    Returns:
        tuple: ``(t1, t2)``, ``p1``, ``p2`` (M×2 float32).

    Raises:
        NoPairs: no frame pair with enough pairs (the dataset resamples).
    """
    if sampler == 'random':
        anchor, frames = random_frames(tracks, k, rng)
        if frames.size == 0:
            raise NoPairs('video has fewer than 2 frames')
        i = int(rng.integers(frames.size))
    else:
        anchor, frames = anchor_frames(tracks, k, rng)
        sizes = np.array([pair_ids(tracks, anchor, f).size for f in frames],
                         dtype=np.int64)
        ok = np.flatnonzero(sizes >= min_pairs)
        if ok.size == 0:
            raise NoPairs(
                f'no frame with >= {min_pairs} tracked pairs (alpha='
                f'{tracks.meta.get("alpha")}, beta={tracks.meta.get("beta")})')
        i = int(rng.choice(ok))
    t1, t2 = int(anchor), int(frames[i])
    p1, p2, _ = pairs(tracks, t1, t2)
    return (t1, t2), p1.reshape(-1, 2), p2.reshape(-1, 2)


class NoPairs(Exception):
    """A video yields no usable pairs (triggers resampling)."""
