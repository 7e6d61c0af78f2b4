"""The ``Tracks`` container: ragged point trajectories of one video.

A track is a **contiguous** run of frames on which a point is alive: it starts
at ``start[i]`` and is alive on ``length[i]`` consecutive frames. Positions are
stored flat (track after track, frame after frame); the per-step forward-backward
consistency terms (``|w + ŵ|²`` and ``|w|² + |ŵ|²``) are stored for every step
a track took, so a stricter ``(alpha, beta)`` can be applied later
(:meth:`Tracks.rethreshold`) without re-tracking.
"""
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

#: Why a track stopped (``Tracks.stop``).
STOP_END = 0  # alive on the last frame of the video
STOP_LEFT = 1  # the advected point left the image
STOP_INCONSISTENT = 2  # forward-backward consistency test failed
STOP_MOTION_BOUNDARY = 3  # motion-boundary test failed (optional)
STOP_SATURATED = 4  # sampled flow at the store's clip bound (unknown motion)
STOP_NAMES = ('end', 'left_image', 'inconsistent', 'motion_boundary',
              'saturated')


class LooserThresholdError(ValueError):
    """A consistency threshold looser than the one tracks were made with."""


def consistency_ok(terms: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """The Sundaram et al. test ``|w+ŵ|² < alpha (|w|²+|ŵ|²) + beta``.

    Args:
        terms (np.ndarray): S×2 array, column 0 ``|w+ŵ|²``, column 1
            ``|w|²+|ŵ|²`` (any float dtype).
        alpha (float): Relative tolerance.
        beta (float): Absolute tolerance in px².

    Returns:
        np.ndarray: S bool, True where the step passes.
    """
    terms = terms.astype(np.float32)
    return terms[:, 0] < np.float32(alpha) * terms[:, 1] + np.float32(beta)


@dataclass
class Tracks:
    """Point tracks of one video (ragged storage, dense views on demand).

    Attributes:
        start (np.ndarray): N int32, first frame of each track.
        length (np.ndarray): N int32 (>= 1), number of frames alive.
        stop (np.ndarray): N uint8, stop reason (``STOP_*``).
        points (np.ndarray): L×2 float32 positions ``(x, y)``, L = sum(length),
            ordered by track then frame.
        terms (np.ndarray): S×2 float16 consistency terms per step,
            S = L - N; column 0 ``|w+ŵ|²``, column 1 ``|w|²+|ŵ|²``.
        num_frames (int): T, frames of the video.
        frame_size (tuple[int, int]): ``(H, W)``.
        meta (dict): Provenance (``source``, ``fps``, ``short_side``,
            ``flow_path``, ``alpha``, ``beta``, ``motion_boundary``, ...).
    """

    start: np.ndarray
    length: np.ndarray
    stop: np.ndarray
    points: np.ndarray
    terms: np.ndarray
    num_frames: int
    frame_size: Tuple[int, int]
    meta: dict = field(default_factory=dict)
    _dense: Optional[Tuple[np.ndarray, np.ndarray]] = field(
        default=None, repr=False, compare=False)

    def __post_init__(self):
        self.start = np.asarray(self.start, dtype=np.int32)
        self.length = np.asarray(self.length, dtype=np.int32)
        self.stop = np.asarray(self.stop, dtype=np.uint8)
        self.points = np.asarray(self.points, dtype=np.float32).reshape(-1, 2)
        self.terms = np.asarray(self.terms, dtype=np.float16).reshape(-1, 2)
        self.num_frames = int(self.num_frames)
        self.frame_size = (int(self.frame_size[0]), int(self.frame_size[1]))
        self.validate()

    def validate(self) -> None:
        """Check the ragged arrays agree; raise ``ValueError`` otherwise."""
        n = self.start.shape[0]
        if self.length.shape != (n, ) or self.stop.shape != (n, ):
            raise ValueError('start/length/stop must all have N entries')
        if n and (self.length.min() < 1 or self.start.min() < 0
                  or (self.start + self.length).max() > self.num_frames):
            raise ValueError('track runs fall outside [0, num_frames)')
        total = int(self.length.sum())
        if self.points.shape[0] != total:
            raise ValueError(f'{self.points.shape[0]} positions stored, '
                             f'sum(length) = {total}')
        if self.terms.shape[0] != total - n:
            raise ValueError(f'{self.terms.shape[0]} step terms stored, '
                             f'expected {total - n}')

    # ------------------------------------------------------------------ views
    @property
    def num_tracks(self) -> int:
        """int: N."""
        return int(self.start.shape[0])

    @property
    def end(self) -> np.ndarray:
        """np.ndarray: N int32, last frame on which each track is alive."""
        return self.start + self.length - 1

    def _flat_index(self) -> Tuple[np.ndarray, np.ndarray]:
        """Track id and frame index of every stored position (L each)."""
        ids = np.repeat(np.arange(self.num_tracks), self.length)
        first = np.cumsum(self.length) - self.length
        local = np.arange(ids.shape[0]) - np.repeat(first, self.length)
        return ids, self.start[ids] + local

    def _densify(self) -> Tuple[np.ndarray, np.ndarray]:
        if self._dense is None:
            n, t = self.num_tracks, self.num_frames
            xy = np.full((n, t, 2), np.nan, dtype=np.float32)
            alive = np.zeros((n, t), dtype=bool)
            ids, frames = self._flat_index()
            xy[ids, frames] = self.points
            alive[ids, frames] = True
            self._dense = (xy, alive)
        return self._dense

    @property
    def xy(self) -> np.ndarray:
        """np.ndarray: N×T×2 float32 positions, NaN where not alive."""
        return self._densify()[0]

    @property
    def alive(self) -> np.ndarray:
        """np.ndarray: N×T bool."""
        return self._densify()[1]

    def positions(self, ids: np.ndarray, frame: int) -> np.ndarray:
        """Positions of tracks ``ids`` (all alive on ``frame``) at ``frame``.

        Args:
            ids (np.ndarray): M track indices.
            frame (int): Frame index.

        Returns:
            np.ndarray: M×2 float32.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (np.any(self.start[ids] > frame)
                         or np.any(self.end[ids] < frame)):
            raise ValueError(f'some tracks are not alive on frame {frame}')
        first = np.cumsum(self.length, dtype=np.int64) - self.length
        return self.points[first[ids] + frame - self.start[ids]]

    # ----------------------------------------------------------- thresholds
    def rethreshold(self, alpha: Optional[float] = None,
                    beta: Optional[float] = None) -> 'Tracks':
        """Apply a stricter (or the same) consistency test to the step terms.

        A track is cut before its first step that fails
        ``|w+ŵ|² < alpha (|w|²+|ŵ|²) + beta``. The terms are stored rounded
        conservatively (see ``save_tracks``), so re-applying the extraction
        values returns identical tracks and any ``alpha <= extraction alpha``,
        ``beta <= extraction beta`` gives exactly the tracks a tracker run at
        those values would give. A looser value cannot be applied: a track
        that stopped was never followed further, so a loosened test would
        silently return the extraction tracks under another label.

        Args:
            alpha (float, optional): Defaults to the extraction value.
            beta (float, optional): Defaults to the extraction value.

        Returns:
            Tracks: New object (``self`` when nothing changes); ``meta``
            ``alpha``/``beta`` are the values applied, ``extraction_alpha``/
            ``extraction_beta`` those the tracker used.

        Raises:
            LooserThresholdError: ``alpha`` or ``beta`` is larger than the
                extraction value.
        """
        a0, b0 = self.meta.get('alpha'), self.meta.get('beta')  # applied
        alpha = a0 if alpha is None else float(alpha)
        beta = b0 if beta is None else float(beta)
        if alpha is None or beta is None or (alpha == a0 and beta == b0):
            return self
        if a0 is not None and b0 is not None and (alpha > a0 or beta > b0):
            ea = self.meta.get('extraction_alpha', a0)
            eb = self.meta.get('extraction_beta', b0)
            raise LooserThresholdError(
                f'consistency alpha={alpha}, beta={beta} is looser than the '
                f'tracks allow (extracted with alpha={ea}, beta={eb}'
                + ('' if (ea, eb) == (a0, b0) else
                   f', already cut to alpha={a0}, beta={b0}') +
                '; stopped tracks cannot be extended): re-run '
                f'tools/data/track_points.py with --alpha {max(alpha, ea)} '
                f'--beta {max(beta, eb)} (or looser) and derive stricter '
                'values at load time')
        n = self.num_tracks
        steps = self.length - 1
        step_ids = np.repeat(np.arange(n), steps)
        step_local = np.arange(step_ids.shape[0]) - np.repeat(
            np.cumsum(steps) - steps, steps)
        fail = ~consistency_ok(self.terms, alpha, beta)
        first_fail = steps.copy()
        has = steps > 0
        if fail.any() and has.any():
            # per track: smallest local index of a failing step (else steps)
            local = np.where(fail, step_local, np.iinfo(np.int64).max)
            seg = (np.cumsum(steps) - steps)[has]
            first_fail[has] = np.minimum(
                np.minimum.reduceat(local, seg), steps[has])
        new_length = (first_fail + 1).astype(np.int32)
        stop = self.stop.copy()
        stop[new_length < self.length] = STOP_INCONSISTENT
        ids, frames = self._flat_index()
        keep_pt = frames - self.start[ids] < new_length[ids]
        keep_step = step_local < first_fail[step_ids]
        meta = dict(self.meta, alpha=alpha, beta=beta,
                    extraction_alpha=self.meta.get('extraction_alpha', a0),
                    extraction_beta=self.meta.get('extraction_beta', b0))
        return Tracks(self.start, new_length, stop, self.points[keep_pt],
                      self.terms[keep_step], self.num_frames, self.frame_size,
                      meta)
