"""Shot detection and fixed-length snippets for YT8M-style long videos.

Shots are inclusive ``(start, end)`` ranges of **target-rate** frame indices
(the frames :func:`pico_mm.flow.video.iter_frames` yields). Detectors:

* TransNetV2 output next to the video, if present: ``<video>.scenes.txt``
  (its CLI's ``start end`` lines, inclusive, 0-based **source** frame
  indices) or ``<video>.predictions.txt`` (per-source-frame probabilities,
  first column = single-frame transition; thresholded at 0.5 like
  ``TransNetV2.predictions_to_scenes``). Source indices are mapped to target
  frames through the same nearest-frame resampling.
* Built-in: colour-histogram difference between consecutive frames
  (HSV 16×4×4 histogram of a 64-px-short-side frame; a cut where the total
  variation distance exceeds ``threshold``; shots shorter than ``min_frames``
  are merged into the previous one).

:func:`make_snippets` cuts each shot into consecutive snippets of
``snippet_seconds`` (default 10 s); a shorter remainder is kept if it has at
least ``min_seconds``.
"""
import os
from typing import Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .video import iter_frames, source_index, video_fps

Shot = Tuple[int, int]


def frame_histogram(frame: np.ndarray) -> np.ndarray:
    """L1-normalised HSV histogram (16×4×4 = 256 bins) of a BGR frame."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
    h = h.ravel().astype(np.float64)
    return h / max(h.sum(), 1.0)


def histogram_shots(frames: Iterable[np.ndarray], threshold: float = 0.5,
                    min_frames: int = 8) -> List[Shot]:
    """Detect hard cuts from consecutive histogram differences.

    Args:
        frames: Iterable of uint8 BGR frames (any size).
        threshold: Total-variation distance (0..1) above which a cut is made.
        min_frames: Minimum shot length; a cut closer than this to the
            previous one is ignored.

    Returns:
        list[tuple[int, int]]: Inclusive shots covering all frames.
    """
    cuts, prev, n = [0], None, 0
    for j, f in enumerate(frames):
        h = frame_histogram(f)
        if prev is not None:
            d = 0.5 * np.abs(h - prev).sum()
            if d > threshold and j - cuts[-1] >= min_frames:
                cuts.append(j)
        prev, n = h, j + 1
    if n == 0:
        return []
    bounds = cuts + [n]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(len(cuts))]


def predictions_to_scenes(pred: np.ndarray, threshold: float = 0.5) -> List[Shot]:
    """TransNetV2's ``predictions_to_scenes`` (inclusive source-frame shots)."""
    pred = (np.asarray(pred) > threshold).astype(np.uint8)
    scenes, t_prev, start = [], 0, 0
    for i, t in enumerate(pred):
        if t_prev == 1 and t == 0:
            start = i
        if t_prev == 0 and t == 1 and i != 0:
            scenes.append((start, i))
        t_prev = t
    if t == 0:
        scenes.append((start, i))
    if not scenes:  # all frames are transitions
        return [(0, len(pred) - 1)]
    return scenes


def read_transnet(video: str) -> Optional[List[Shot]]:
    """Source-frame shots from ``<video>.scenes.txt`` / ``.predictions.txt``.

    Returns None if neither exists.

    Raises:
        ValueError: A malformed file (named in the message).
    """
    scenes_p, pred_p = video + '.scenes.txt', video + '.predictions.txt'
    try:
        if os.path.isfile(scenes_p):
            arr = np.loadtxt(scenes_p, dtype=np.int64, ndmin=2)
            if arr.shape[1] != 2:
                raise ValueError('need two columns')
            return [(int(a), int(b)) for a, b in arr]
        if os.path.isfile(pred_p):
            arr = np.loadtxt(pred_p, dtype=np.float64, ndmin=2)
            return predictions_to_scenes(arr[:, 0])
    except ValueError as e:
        bad = scenes_p if os.path.isfile(scenes_p) else pred_p
        raise ValueError(f'{bad}: malformed TransNetV2 file ({e}); '
                         're-run TransNetV2 or delete it') from e
    return None


def source_to_target_shots(shots: Sequence[Shot], num_target: int,
                           src_fps: Optional[float], fps: Optional[float]) -> List[Shot]:
    """Map inclusive source-frame shots to target-frame shots (non-empty ones)."""
    src_of = np.array([source_index(j, src_fps, fps) for j in range(num_target)])
    out = []
    for a, b in shots:
        js = np.nonzero((src_of >= a) & (src_of <= b))[0]
        if len(js):
            out.append((int(js[0]), int(js[-1])))
    return out


def make_snippets(shots: Sequence[Shot], fps: float, snippet_seconds: float = 10.0,
                  min_seconds: float = 2.0) -> List[Tuple[int, int]]:
    """Cut shots into snippets ``(start, stop)`` (stop exclusive).

    Each shot gives ``floor(len / L)`` snippets of ``L = round(snippet_seconds
    * fps)`` frames, plus the remainder if it has ``>= max(2, round(min_seconds
    * fps))`` frames.
    """
    length = max(2, int(round(snippet_seconds * fps)))
    min_len = max(2, int(round(min_seconds * fps)))
    out = []
    for a, b in shots:
        s = a
        while s <= b:
            e = min(s + length, b + 1)
            if e - s >= min(length, min_len) and e - s >= 2:
                out.append((s, e))
            s = e
    return out


def detect_shots(source: str, fps: Optional[float], threshold: float = 0.5,
                 min_frames: int = 8, source_fps: Optional[float] = None
                 ) -> Tuple[List[Shot], int, str]:
    """Shots of a video in target-frame indices.

    Uses TransNetV2 files next to the video when present, else the histogram
    detector on the resampled frames (decoded at 64 px short side).

    Returns:
        tuple: ``(shots, num_target_frames, detector_name)``.
    """
    frames = (f for _, f in iter_frames(source, fps, short_side=64,
                                        source_fps=source_fps))
    src = read_transnet(source) if os.path.isfile(source) else None
    if src is not None:
        n = sum(1 for _ in frames)
        src_fps = source_fps or video_fps(source) or None
        return source_to_target_shots(src, n, src_fps, fps), n, 'transnetv2'
    shots = histogram_shots(frames, threshold, min_frames)
    return shots, (shots[-1][1] + 1 if shots else 0), 'histogram'
