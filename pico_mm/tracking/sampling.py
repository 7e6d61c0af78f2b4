"""Frame selection from tracks: PiCo's anchor sampling and the random ablation.

``anchor_sample`` picks an anchor frame uniformly among the frames on which at
least one *usable* track (alive on two or more frames) is alive, then the top-K
frames by track endpoint count. ``random_sample`` (the ablation of the paper's
Fig. 5) draws the anchor and K frames uniformly **without looking at the
tracks**, so some frames share no track with the anchor. Both return, for each
frame, the correspondences anchor→frame: every track alive on both frames
(tracks are contiguous runs).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from .tracks import Tracks


@dataclass
class FrameSample:
    """Frames chosen for one training sample.

    Attributes:
        anchor (int): Anchor frame index (0 when the video has no usable
            track; ``frames`` is then empty).
        frames (np.ndarray): K' <= K int64 frame indices (never the anchor).
        src (list[np.ndarray]): K' arrays M_i×2 float32, points in the anchor.
        dst (list[np.ndarray]): K' arrays M_i×2 float32, the same tracks'
            points in ``frames[i]``.
        track_ids (list[np.ndarray]): K' arrays of M_i int64 track indices.
    """

    anchor: int
    frames: np.ndarray
    src: List[np.ndarray] = field(default_factory=list)
    dst: List[np.ndarray] = field(default_factory=list)
    track_ids: List[np.ndarray] = field(default_factory=list)


def _pick_anchor(tracks: Tracks, rng: np.random.Generator) -> int:
    """Uniform among frames covered by tracks of length >= 2; -1 if none."""
    usable = tracks.length >= 2
    cover = np.zeros(tracks.num_frames + 1, dtype=np.int64)
    np.add.at(cover, tracks.start[usable], 1)
    np.add.at(cover, tracks.end[usable] + 1, -1)
    frames = np.flatnonzero(np.cumsum(cover)[:-1] > 0)
    if frames.size == 0:
        return -1
    return int(frames[rng.integers(frames.size)])


def pair_ids(tracks: Tracks, anchor: int, frame: int) -> np.ndarray:
    """Tracks alive on both ``anchor`` and ``frame`` (from start/end only).

    Returns:
        np.ndarray: int64 track indices, increasing.
    """
    lo, hi = min(anchor, int(frame)), max(anchor, int(frame))
    return np.flatnonzero((tracks.start <= lo) & (tracks.end >= hi))


def pairs(tracks: Tracks, anchor: int, frame: int):
    """Correspondences anchor→``frame``: every track alive on both.

    Reads the positions of two frames only (``tracks.positions``), so with a
    :class:`~pico_mm.tracking.track_index.TrackIndex` a sample reads the
    rows of the anchor and of ``frame``.

    Returns:
        tuple: ``src`` (M×2 float32, anchor), ``dst`` (M×2 float32,
        ``frame``), ``ids`` (M int64).
    """
    ids = pair_ids(tracks, anchor, frame)
    return (tracks.positions(ids, anchor), tracks.positions(ids, int(frame)),
            ids.astype(np.int64))


def _build(tracks: Tracks, anchor: int, frames: np.ndarray) -> FrameSample:
    """Correspondences anchor→frame for every frame in ``frames``."""
    src, dst, tids = [], [], []
    for f in frames:
        s, d, ids = pairs(tracks, anchor, int(f))
        src.append(s)
        dst.append(d)
        tids.append(ids)
    return FrameSample(anchor, np.asarray(frames, dtype=np.int64), src, dst,
                       tids)


def _empty() -> FrameSample:
    return FrameSample(0, np.zeros(0, dtype=np.int64))


def endpoint_counts(tracks: Tracks, anchor: int) -> np.ndarray:
    """Count, per frame, the tracks through ``anchor`` ending furthest there.

    For each track alive on ``anchor`` its endpoint furthest in time from the
    anchor is taken (the later one on a tie); tracks alive only on the anchor
    are ignored.

    Args:
        tracks (Tracks): Tracks of one video.
        anchor (int): Anchor frame.

    Returns:
        np.ndarray: T int64 counts (0 at the anchor).
    """
    start, end = tracks.start, tracks.end
    through = (start <= anchor) & (end >= anchor)
    s, e = start[through], end[through]
    far = np.where(anchor - s > e - anchor, s, e)
    counts = np.bincount(far, minlength=tracks.num_frames).astype(np.int64)
    counts[anchor] = 0
    return counts


def anchor_frames(tracks: Tracks, k: int, rng: np.random.Generator,
                  anchor: Optional[int] = None) -> Tuple[int, np.ndarray]:
    """The frame choice of :func:`anchor_sample` without reading positions.

    Makes the same ``rng`` draws as :func:`anchor_sample`.

    Returns:
        tuple: ``anchor`` (-1 when the video has no usable track) and the
        frames (int64, best first).
    """
    if anchor is None:
        anchor = _pick_anchor(tracks, rng)
        if anchor < 0:
            return -1, np.zeros(0, dtype=np.int64)
    counts = endpoint_counts(tracks, anchor)
    order = np.lexsort((rng.random(counts.size), -counts))
    chosen = order[:k]
    return anchor, chosen[counts[chosen] > 0].astype(np.int64)


def anchor_sample(tracks: Tracks, k: int, rng: np.random.Generator,
                  anchor: Optional[int] = None) -> FrameSample:
    """PiCo frame selection: the K frames where most anchor tracks end.

    Args:
        tracks (Tracks): Tracks of one video (already thresholded).
        k (int): Maximum number of frames.
        rng (np.random.Generator): Seeded generator (anchor choice).
        anchor (int, optional): Force the anchor frame (tests, debugging).

    Returns:
        FrameSample: ``frames`` sorted by decreasing endpoint count (ties
        broken at random by ``rng``, so no frame order is favoured), frames
        with no endpoint left out.
    """
    anchor, chosen = anchor_frames(tracks, k, rng, anchor)
    if anchor < 0:
        return _empty()
    return _build(tracks, anchor, chosen)


def random_frames(tracks: Tracks, k: int, rng: np.random.Generator,
                  require_overlap: bool = False,
                  anchor: Optional[int] = None) -> Tuple[int, np.ndarray]:
    """The frame choice of :func:`random_sample` without reading positions.

    Makes the same ``rng`` draws as :func:`random_sample`.

    Returns:
        tuple: ``anchor`` (-1 when nothing can be drawn) and the frames
        (int64, in the order drawn).
    """
    empty = np.zeros(0, dtype=np.int64)
    if not require_overlap:
        if tracks.num_frames < 2:
            return -1, empty
        if anchor is None:
            anchor = int(rng.integers(tracks.num_frames))
        pool = np.arange(tracks.num_frames)
    else:
        if anchor is None:
            anchor = _pick_anchor(tracks, rng)
            if anchor < 0:
                return -1, empty
        through = (tracks.start <= anchor) & (tracks.end >= anchor)
        if not through.any():
            return anchor, empty
        pool = np.arange(int(tracks.start[through].min()),
                         int(tracks.end[through].max()) + 1)
    pool = pool[pool != anchor]
    chosen = rng.choice(pool, size=min(k, pool.size), replace=False)
    return anchor, np.asarray(chosen, dtype=np.int64)


def random_sample(tracks: Tracks, k: int, rng: np.random.Generator,
                  require_overlap: bool = False,
                  anchor: Optional[int] = None) -> FrameSample:
    """Ablation: K random frames instead of the track-endpoint frames.

    The anchor is uniform over all T frames and the K frames uniform over the
    others, drawn without looking at the tracks: a frame may share no track
    with the anchor (its ``src``/``dst`` are then empty). That is the effect
    the ablation measures, so callers must not redraw such frames.

    Args:
        tracks (Tracks): Tracks of one video (already thresholded).
        k (int): Maximum number of frames.
        rng (np.random.Generator): Seeded generator.
        require_overlap (bool): Debug/legacy option: pick the anchor like
            :func:`anchor_sample` and draw only among frames sharing a track
            with it (every frame then has correspondences). Defaults to False.
        anchor (int, optional): Force the anchor frame (tests, debugging).

    Returns:
        FrameSample: ``frames`` in the order drawn (without replacement).
    """
    anchor, chosen = random_frames(tracks, k, rng, require_overlap, anchor)
    if anchor < 0:
        return _empty()
    return _build(tracks, anchor, chosen)
