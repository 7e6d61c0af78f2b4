"""Sparse point tracker driven by dense forward/backward flow (pure torch).

Rules (Sundaram, Brox & Keutzer, ECCV 2010, as used by PiCo):

* seeds are sampled uniformly in space and time (``sample_seeds``);
* a live point ``p`` at frame ``t`` moves to ``p + w`` with ``w`` the forward
  flow ``t -> t+1`` **bilinearly** interpolated at ``p``;
* it stops when ``p + w`` leaves the image (``0 <= x <= W-1``,
  ``0 <= y <= H-1``), or when the forward-backward test
  ``|w + ŵ|² < alpha (|w|² + |ŵ|²) + beta`` fails, ``ŵ`` being the backward
  flow ``t+1 -> t`` bilinearly interpolated at ``p + w``;
* optionally it stops at motion boundaries:
  ``|∇u|² + |∇v|² > 0.01 |w|² + 0.002`` (gradients of the forward flow at
  ``p``, central differences).

All live points of a frame are processed at once: one ``grid_sample`` of the
forward flow (plus its gradient map when enabled) at ``p`` and one of the
backward flow at ``p + w``.
"""
from typing import Callable, Optional, Tuple

import numpy as np
import torch

from .geometry import flow_gradient_sq, sample_points, to_chw_tensor
from .track_file import round_fp16
from .tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                     STOP_MOTION_BOUNDARY, Tracks)

FlowProvider = Callable[[int], Tuple[np.ndarray, np.ndarray]]


def sample_seeds(num_points: int, num_frames: int,
                 frame_size: Tuple[int, int],
                 rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Sample seeds uniformly in space and time.

    Start frames are uniform over ``0 .. T-2`` (a seed on the last frame could
    never move), positions uniform over ``[0, W-1] × [0, H-1]``.

    Args:
        num_points (int): N seeds.
        num_frames (int): T frames (>= 2).
        frame_size (tuple[int, int]): ``(H, W)``.
        rng (np.random.Generator): Seeded generator.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``start`` (N int32, sorted) and
        ``xy`` (N×2 float32).
    """
    if num_frames < 2:
        raise ValueError(f'need at least 2 frames to track, got {num_frames}')
    h, w = frame_size
    start = np.sort(rng.integers(0, num_frames - 1, size=num_points))
    xy = np.stack([rng.uniform(0, w - 1, num_points),
                   rng.uniform(0, h - 1, num_points)], axis=1)
    return start.astype(np.int32), xy.astype(np.float32)


class PointTracker:
    """Track seeds through a video given a flow provider.

    Args:
        alpha (float): Relative tolerance of the consistency test.
        beta (float): Absolute tolerance (px²) of the consistency test.
        motion_boundary (bool): Also stop at motion boundaries.
        device (str | torch.device, optional): Where to compute; defaults to
            CUDA when available, else CPU.
    """

    def __init__(self, alpha: float = 0.01, beta: float = 0.5,
                 motion_boundary: bool = False,
                 device: Optional[str] = None):
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.motion_boundary = bool(motion_boundary)
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = torch.device(device)

    def _step(self, fwd, bwd, pos: torch.Tensor, size: Tuple[int, int]):
        """Advect N live points one frame.

        Args:
            fwd, bwd: H×W×2 forward (t->t+1) and backward (t+1->t) flow.
            pos (torch.Tensor): N×2 positions at frame t.
            size (tuple[int, int]): ``(H, W)``.

        Returns:
            tuple: new positions N×2, stop reason N uint8 (0 = keeps going),
            ``|w+ŵ|²`` N and ``|w|²+|ŵ|²`` N (float32 tensors).
        """
        h, w = size
        fwd_t = to_chw_tensor(fwd, self.device)
        bwd_t = to_chw_tensor(bwd, self.device)
        if tuple(fwd_t.shape[2:]) != (h, w) or tuple(bwd_t.shape[2:]) != (h, w):
            raise ValueError(
                f'flow of shape {tuple(fwd_t.shape[2:])}/'
                f'{tuple(bwd_t.shape[2:])} does not match frame size {size}')
        if self.motion_boundary:
            fwd_t = torch.cat([fwd_t, flow_gradient_sq(fwd_t)], dim=1)
        sampled = sample_points(fwd_t, pos, size)
        flow = sampled[:, :2]
        new = pos + flow
        inside = ((new[:, 0] >= 0) & (new[:, 0] <= w - 1) & (new[:, 1] >= 0)
                  & (new[:, 1] <= h - 1))
        back = sample_points(bwd_t, new, size)
        w2 = (flow * flow).sum(1)
        bad = ((flow + back)**2).sum(1)
        mag = w2 + (back * back).sum(1)
        reason = torch.zeros(pos.shape[0], dtype=torch.uint8,
                             device=self.device)
        if self.motion_boundary:
            edge = sampled[:, 2] > 0.01 * w2 + 0.002
            reason[edge] = STOP_MOTION_BOUNDARY
        reason[bad >= self.alpha * mag + self.beta] = STOP_INCONSISTENT
        reason[~inside] = STOP_LEFT
        return new, reason, bad, mag

    @torch.inference_mode()
    def track(self, flow_provider: FlowProvider, num_frames: int,
              frame_size: Tuple[int, int], start: np.ndarray, xy: np.ndarray,
              meta: Optional[dict] = None) -> Tracks:
        """Track given seeds.

        Args:
            flow_provider (callable): ``t -> (fwd, bwd)``, H×W×2 float32 (x, y)
                forward flow ``t -> t+1`` and backward flow ``t+1 -> t``
                (numpy arrays or tensors); called once per frame pair, in
                order, only while points are alive.
            num_frames (int): T frames in the video.
            frame_size (tuple[int, int]): ``(H, W)``.
            start (np.ndarray): N int start frames in ``[0, T-1]``.
            xy (np.ndarray): N×2 seed positions (inside the image).
            meta (dict, optional): Stored with the tracks; ``alpha``, ``beta``
                and ``motion_boundary`` are filled in.

        Returns:
            Tracks: one track per seed (seed order kept).
        """
        h, w = int(frame_size[0]), int(frame_size[1])
        start = np.asarray(start, dtype=np.int64)
        n = start.shape[0]
        if n and (start.min() < 0 or start.max() >= num_frames):
            raise ValueError('seed start frames must lie in [0, num_frames)')
        dev = self.device
        pos = torch.tensor(np.asarray(xy, dtype=np.float32), device=dev)
        alive = torch.zeros(n, dtype=torch.bool, device=dev)
        stop = torch.full((n, ), STOP_END, dtype=torch.uint8, device=dev)
        order = np.argsort(start, kind='stable')
        bounds = np.searchsorted(start[order], np.arange(num_frames + 1))
        order_t = torch.from_numpy(order).to(dev)
        rec_ids, rec_xy, step_ids, step_terms = [], [], [], []
        for t in range(num_frames):
            alive[order_t[bounds[t]:bounds[t + 1]]] = True
            ids = alive.nonzero().squeeze(1)
            if ids.numel() == 0:
                continue
            rec_ids.append(ids)
            rec_xy.append(pos[ids])
            if t == num_frames - 1:
                break
            fwd, bwd = flow_provider(t)
            new, reason, bad, mag = self._step(fwd, bwd, pos[ids], (h, w))
            ok = reason == 0
            moved = ids[ok]
            pos[moved] = new[ok]
            step_ids.append(moved)
            step_terms.append(torch.stack([bad[ok], mag[ok]], 1))
            dead = ids[~ok]
            alive[dead] = False
            stop[dead] = reason[~ok]
        return self._assemble(n, num_frames, (h, w), start, rec_ids, rec_xy,
                              step_ids, step_terms, stop, meta)

    def _assemble(self, n, num_frames, size, start, rec_ids, rec_xy,
                  step_ids, step_terms, stop, meta) -> Tracks:
        """Turn per-frame records into ragged ``Tracks`` (order by track)."""

        def cat(items, shape):
            if not items:
                return np.zeros(shape, dtype=np.float32)
            return torch.cat(items).cpu().numpy()

        ids = cat(rec_ids, (0, )).astype(np.int64)
        pts = cat(rec_xy, (0, 2)).astype(np.float32)
        sids = cat(step_ids, (0, )).astype(np.int64)
        terms = cat(step_terms, (0, 2)).astype(np.float32)
        # records are frame-major; a stable sort by track id gives the flat
        # track-major layout because frames were appended in order.
        o = np.argsort(ids, kind='stable')
        so = np.argsort(sids, kind='stable')
        length = np.bincount(ids, minlength=n).astype(np.int32)
        terms = terms[so]
        stored = np.stack([round_fp16(terms[:, 0], 'down'),
                           round_fp16(terms[:, 1], 'up')], 1)
        meta = dict(meta or {}, alpha=self.alpha, beta=self.beta,
                    motion_boundary=self.motion_boundary)
        return Tracks(start.astype(np.int32), length, stop.cpu().numpy(),
                      pts[o], stored, num_frames, size, meta)


def track_video(flow_provider: FlowProvider, num_frames: int,
                frame_size: Tuple[int, int], num_points: int,
                rng: np.random.Generator, alpha: float = 0.01,
                beta: float = 0.5, motion_boundary: bool = False,
                device: Optional[str] = None,
                meta: Optional[dict] = None) -> Tracks:
    """Sample ``num_points`` seeds and track them (see ``PointTracker``).

    Args:
        flow_provider (callable): ``t -> (fwd, bwd)`` H×W×2 flows.
        num_frames (int): T.
        frame_size (tuple[int, int]): ``(H, W)``.
        num_points (int): Seeds per video.
        rng (np.random.Generator): Seeded generator for the seeds.
        alpha (float): Consistency ``alpha``.
        beta (float): Consistency ``beta`` (px²).
        motion_boundary (bool): Enable the motion-boundary stop.
        device (str, optional): Torch device.
        meta (dict, optional): Extra provenance stored with the tracks.

    Returns:
        Tracks: N tracks.
    """
    start, xy = sample_seeds(num_points, num_frames, frame_size, rng)
    tracker = PointTracker(alpha, beta, motion_boundary, device)
    meta = dict(meta or {}, num_points=int(num_points))
    return tracker.track(flow_provider, num_frames, frame_size, start, xy,
                         meta)
