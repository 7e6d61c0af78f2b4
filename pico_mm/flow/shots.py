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
import bisect
import os
from typing import Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .video import iter_frames, resize_frame, source_index, video_fps

Shot = Tuple[int, int]
HIST_SHORT_SIDE = 64


def frame_histogram(frame: np.ndarray) -> np.ndarray:
    """L1-normalised HSV histogram (16×4×4 = 256 bins) of a BGR frame,
    taken at a 64-px short side (larger frames are shrunk first)."""
    frame = resize_frame(frame, HIST_SHORT_SIDE) \
        if min(frame.shape[:2]) > HIST_SHORT_SIDE else frame
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
    det = OnlineShots(threshold=threshold, min_frames=min_frames)
    for j, f in enumerate(frames):
        det.shot_of(j, f)
    return det.shots()


class OnlineShots:
    """Shot id of each target frame as the frames stream past (one decode).

    With ``transnet`` (inclusive source-frame shots, :func:`read_transnet`)
    a frame's shot is the one holding its source frame (None: a transition
    frame in no shot); otherwise the histogram detector cuts where the
    total-variation distance to the previous frame exceeds ``threshold``, at
    least ``min_frames`` after the previous cut.

    Args:
        threshold, min_frames: Histogram detector settings.
        transnet: Source-frame shots, or None for the histogram detector.
        src_fps, fps: Source and target rates (to map TransNetV2 shots).
    """

    def __init__(self, threshold: float = 0.5, min_frames: int = 8,
                 transnet: Optional[Sequence[Shot]] = None,
                 src_fps: Optional[float] = None, fps: Optional[float] = None):
        self.threshold = threshold
        self.min_frames = min_frames
        self.transnet = None if transnet is None else sorted(transnet)
        self.src_fps, self.fps = src_fps, fps
        self.detector = 'histogram' if transnet is None else 'transnetv2'
        self._starts = [a for a, _ in self.transnet or []]
        self._ids: dict = {}  # TransNetV2 shot index -> shot id
        self._prev = None
        self._cut = 0
        self._ranges: List[List[int]] = []  # [first, last] target frame per shot

    def shot_of(self, j: int, frame: np.ndarray) -> Optional[int]:
        """Shot id (0, 1, ... in order) of target frame ``j`` (call for every
        ``j`` in order); None if the frame belongs to no shot."""
        if self.transnet is not None:
            src = source_index(j, self.src_fps, self.fps)
            i = bisect.bisect_right(self._starts, src) - 1
            k = i if i >= 0 and src <= self.transnet[i][1] else None
        else:
            h = frame_histogram(frame)
            k = len(self._ranges) - 1 if self._ranges else 0
            if self._prev is not None:
                d = 0.5 * np.abs(h - self._prev).sum()
                if d > self.threshold and j - self._cut >= self.min_frames:
                    self._cut, k = j, k + 1
            self._prev = h
        if k is not None:
            if self.transnet is not None:
                k = self._ids.setdefault(k, len(self._ids))
            if k == len(self._ranges):
                self._ranges.append([j, j])
            self._ranges[k][1] = j
        return k

    def shots(self) -> List[Shot]:
        """Inclusive target-frame shots seen so far."""
        return [(a, b) for a, b in self._ranges]


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
    """Shots of a video in target-frame indices (a decode of its own; the
    extractor detects shots in its single decode with :class:`OnlineShots`).

    Uses TransNetV2 files next to the video when present, else the histogram
    detector on the resampled frames (decoded at 64 px short side).

    Returns:
        tuple: ``(shots, num_target_frames, detector_name)``.
    """
    det = shot_detector(source, fps, threshold, min_frames, source_fps)
    n = 0
    for j, f in iter_frames(source, fps, short_side=HIST_SHORT_SIDE,
                            source_fps=source_fps):
        det.shot_of(j, f)
        n = j + 1
    return det.shots(), n, det.detector


def shot_detector(source: str, fps: Optional[float], threshold: float = 0.5,
                  min_frames: int = 8, source_fps: Optional[float] = None
                  ) -> OnlineShots:
    """The :class:`OnlineShots` for a video: TransNetV2 files next to it
    when present, else the histogram detector."""
    src = read_transnet(source) if os.path.isfile(source) else None
    src_fps = (source_fps or video_fps(source) or None) if src is not None else None
    return OnlineShots(threshold, min_frames, src, src_fps, fps)
