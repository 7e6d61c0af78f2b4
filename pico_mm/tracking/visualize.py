"""Drawing tracks over frames (pure numpy/cv2).

Each track gets a fixed colour (golden-ratio hue walk over its index); a live
point is a dot with a tail over the last ``tail`` frames that fades with age;
a track that *stopped* (inconsistent / motion boundary: an occlusion) is marked
with an ``x`` at its last position, and one that left the image with a small
square, both fading over ``tail`` frames after the stop.
"""
from typing import List, Optional, Sequence

import cv2
import numpy as np

from .tracks import STOP_END, STOP_LEFT, Tracks

_SHIFT = 4  # cv2 sub-pixel drawing: coordinates in 1/16 px
_ONE = 1 << _SHIFT


def track_colors(n: int) -> np.ndarray:
    """N×3 uint8 BGR colours, well spread in hue.

    Args:
        n (int): Number of tracks.

    Returns:
        np.ndarray: N×3 uint8.
    """
    hue = (np.arange(n) * 0.618033988749895 % 1.0 * 180).astype(np.uint8)
    hsv = np.stack([hue, np.full(n, 230, np.uint8), np.full(n, 255, np.uint8)],
                   1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2BGR)[0]


def _pt(xy: np.ndarray, scale: float):
    """Image point (pixel-index coords) to a cv2 fixed-point tuple."""
    return (int(round((xy[0] + 0.5) * scale * _ONE - 0.5 * _ONE)),
            int(round((xy[1] + 0.5) * scale * _ONE - 0.5 * _ONE)))


def draw_frame(frame: np.ndarray, tracks: Tracks, t: int,
               ids: np.ndarray, colors: np.ndarray, tail: int = 10,
               scale: float = 1.0) -> np.ndarray:
    """Draw tracks ``ids`` on frame ``t``.

    Args:
        frame (np.ndarray): H×W×3 uint8 BGR frame ``t`` (unscaled).
        tracks (Tracks): Tracks of the video.
        t (int): Frame index.
        ids (np.ndarray): Track indices to draw.
        colors (np.ndarray): len(tracks)×3 uint8 colours.
        tail (int): Tail length / fade time in frames.
        scale (float): Upscaling of the output for visibility.

    Returns:
        np.ndarray: (H·scale)×(W·scale)×3 uint8 image.
    """
    h, w = frame.shape[:2]
    size = (int(round(w * scale)), int(round(h * scale)))
    img = cv2.resize(frame, size, interpolation=cv2.INTER_NEAREST) \
        if scale != 1 else frame.copy()
    img = (img.astype(np.float32) * 0.75).astype(np.uint8)  # dim background
    xy, start, end = tracks.xy, tracks.start, tracks.end
    r = 2 if scale < 3 else 3  # dot radius in output px
    for age in range(tail, -1, -1):  # oldest first, newest on top
        layer = img.copy()
        drawn = False
        f = t - age  # segments (f-1 -> f) and stops on frame f
        if age < tail and f >= 1:
            sel = ids[(start[ids] <= f - 1) & (end[ids] >= f)]
            for i in sel:
                cv2.line(layer, _pt(xy[i, f - 1], scale), _pt(xy[i, f], scale),
                         tuple(int(c) for c in colors[i]),
                         (1 if scale < 2 else 2), cv2.LINE_AA, _SHIFT)
                drawn = True
        if f >= 0:
            stopped = ids[(end[ids] == f) & (tracks.stop[ids] != STOP_END)]
            for i in stopped:
                c = tuple(int(v) for v in colors[i])
                x, y = _pt(xy[i, f], scale)
                d = 2 * r * _ONE
                if tracks.stop[i] == STOP_LEFT:
                    cv2.rectangle(layer, (x - d, y - d), (x + d, y + d), c, 1,
                                  cv2.LINE_AA, _SHIFT)
                else:
                    cv2.line(layer, (x - d, y - d), (x + d, y + d), c,
                             (1 if scale < 2 else 2), cv2.LINE_AA, _SHIFT)
                    cv2.line(layer, (x - d, y + d), (x + d, y - d), c,
                             (1 if scale < 2 else 2), cv2.LINE_AA, _SHIFT)
                drawn = True
        if age == 0:
            live = ids[(start[ids] <= t) & (end[ids] >= t)]
            for i in live:
                cv2.circle(layer, _pt(xy[i, t], scale), r * _ONE,
                           tuple(int(c) for c in colors[i]), -1, cv2.LINE_AA,
                           _SHIFT)
                drawn = True
        if drawn:
            weight = 1.0 - age / (tail + 1)
            img = cv2.addWeighted(layer, weight, img, 1.0 - weight, 0)
    return img


def select_tracks(tracks: Tracks, frame_ids: Sequence[int],
                  max_tracks: Optional[int] = 300, tail: int = 10,
                  rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Tracks visible on ``frame_ids`` (alive, or stopped within ``tail``).

    Args:
        tracks (Tracks): Tracks of the video.
        frame_ids (Sequence[int]): Shown frames.
        max_tracks (int, optional): Keep a random subset of at most this many
            (None: all).
        tail (int): Tail length in frames.
        rng (np.random.Generator, optional): For the subset (default seed 0).

    Returns:
        np.ndarray: Sorted int64 track indices.
    """
    lo, hi = min(frame_ids), max(frame_ids)
    ids = np.flatnonzero((tracks.start <= hi) & (tracks.end >= lo - tail))
    if max_tracks is not None and ids.size > max_tracks:
        rng = rng or np.random.default_rng(0)
        ids = np.sort(rng.choice(ids, max_tracks, replace=False))
    return ids


def render_tracks(frames: Sequence[np.ndarray], frame_ids: Sequence[int],
                  tracks: Tracks, max_tracks: Optional[int] = 300,
                  tail: int = 10, scale: float = 1.0,
                  rng: Optional[np.random.Generator] = None
                  ) -> List[np.ndarray]:
    """Draw tracks over a sequence of frames.

    Args:
        frames (Sequence[np.ndarray]): H×W×3 uint8 BGR frames.
        frame_ids (Sequence[int]): Video frame index of each frame.
        tracks (Tracks): Tracks of the video.
        max_tracks (int, optional): Draw a random subset of at most this
            many tracks among those visible on the shown frames (None: all).
        tail (int): Tail length in frames.
        scale (float): Output upscaling.
        rng (np.random.Generator, optional): For the subset (default seed 0).

    Returns:
        list[np.ndarray]: Drawn images, one per frame.
    """
    frame_ids = [int(f) for f in frame_ids]
    if not frame_ids:
        return []
    ids = select_tracks(tracks, frame_ids, max_tracks, tail, rng)
    colors = track_colors(tracks.num_tracks)
    return [
        draw_frame(fr, tracks, f, ids, colors, tail, scale)
        for fr, f in zip(frames, frame_ids)
    ]
