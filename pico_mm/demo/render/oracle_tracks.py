"""PiCo-oracle tracks: PiCo's own seeds, continued by the renderer's exact motion.

The PiCo-oracle arm of issue 19 must differ from PiCo in one thing only: where a
seed point goes. :func:`oracle_tracks` therefore takes the DIS track file PiCo
trains on for a rendered clip and keeps every track's **seed** (start frame and
first position), then replaces the rest by the exact correspondences of the
scene (:func:`~pico_mm.demo.render.exact_correspondences`). A track is alive
while its point is visible (not covered by a nearer layer) and inside the
tracker's border (``0 <= x <= W-1``, ``0 <= y <= H-1`` at the extraction size),
and stops at the first frame where it is not, like a tracker that never errs:
``STOP_LEFT`` when it crossed the border, ``STOP_INCONSISTENT`` when it was
occluded, ``STOP_END`` when it reached the last frame. The result is a ``Tracks`` object
with the DIS file's size, frame count and provenance, so the dataset's anchor
sampling, views and pair budget treat it exactly like PiCo's tracks.

Coordinates: the DIS tracks live at the extraction size (``frame_size``), the
scene at its render size; positions are mapped between the two with the pixel
centre convention of ``cv2.resize`` (``x_scene = (x + 0.5) * W_scene / W - 0.5``).
The step terms are zero (``|w + ŵ|² = 0``: exact motion passes every
consistency test), so any α/β the config asks for keeps the oracle tracks whole.
"""
from typing import Tuple

import numpy as np

from pico_mm.tracking.tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                                     Tracks)

from .correspondence import exact_correspondences
from .scene import Scene

__all__ = ['oracle_tracks', 'seeds_of']


def seeds_of(tracks: Tracks) -> Tuple[np.ndarray, np.ndarray]:
    """Start frame and first position of every track.

    Args:
        tracks (Tracks): Any track file's content.

    Returns:
        tuple: ``start`` (N int32) and ``xy`` (N×2 float32, extraction pixels).
    """
    first = np.cumsum(tracks.length, dtype=np.int64) - tracks.length
    return tracks.start.copy(), tracks.points[first].copy()


def oracle_tracks(scene: Scene, dis: Tracks) -> Tracks:
    """Exact tracks from the seeds of ``dis`` (see the module docstring).

    Args:
        scene (Scene): The rendered clip's scene (``RenderedClip.scene``).
        dis (Tracks): PiCo's DIS tracks of the same clip (same frames: the
            flow must have been extracted at the clip's own frame rate).

    Returns:
        Tracks: N tracks (one per DIS track, same order and start frames),
        ``meta`` of ``dis`` plus ``oracle=True``.

    Raises:
        ValueError: The frame counts differ (the clip was resampled in time).
    """
    if dis.num_frames != scene.num_frames:
        raise ValueError(
            f'the tracks have {dis.num_frames} frames, the rendered clip '
            f'{scene.num_frames}: extract the flow at the clip\'s own frame rate '
            '(tools/data/extract_flow.py --fps 0) so frame t is the same frame')
    h, w = dis.frame_size
    sx, sy = scene.width / w, scene.height / h
    start, xy = seeds_of(dis)
    n, t_all = dis.num_tracks, dis.num_frames
    length = np.ones(n, np.int32)
    stop = np.full(n, STOP_END, np.uint8)
    rows = [[None] for _ in range(n)]
    for t0 in np.unique(start):
        ids = np.flatnonzero(start == t0)
        src = np.stack([(xy[ids, 0] + 0.5) * sx - 0.5,
                        (xy[ids, 1] + 0.5) * sy - 0.5], 1).astype(np.float64)
        alive = np.ones(ids.size, bool)
        for i in ids:
            rows[i][0] = xy[i]
        for t in range(int(t0) + 1, t_all):
            c = exact_correspondences(scene, int(t0), t, src[alive])
            live = ids[alive]
            pos = np.stack([(c.dst[:, 0] + 0.5) / sx - 0.5,
                            (c.dst[:, 1] + 0.5) / sy - 0.5], 1)
            inside = ((pos[:, 0] >= 0) & (pos[:, 0] <= w - 1) & (pos[:, 1] >= 0)
                      & (pos[:, 1] <= h - 1))  # the tracker's border rule
            ok = c.visible & inside
            stop[live[~ok]] = np.where(inside[~ok], STOP_INCONSISTENT, STOP_LEFT)
            for i, p in zip(live[ok], pos[ok].astype(np.float32)):
                rows[i].append(p)
                length[i] += 1
            alive[np.flatnonzero(alive)[~ok]] = False
            if not alive.any():
                break
    points = np.concatenate([np.stack(r) for r in rows]) if n else \
        np.zeros((0, 2), np.float32)
    terms = np.zeros((int(length.sum()) - n, 2), np.float16)
    return Tracks(start, length, stop, points, terms, t_all, dis.frame_size,
                  dict(dis.meta, oracle=True))
