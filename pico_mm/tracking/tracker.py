"""Sparse point tracker driven by dense forward/backward flow (pure torch).

Rules (Sundaram, Brox & Keutzer, ECCV 2010, as used by PiCo):

* seeds are sampled uniformly in space and time (``sample_seeds``);
* a live point ``p`` at frame ``t`` moves to ``p + w`` with ``w`` the forward
  flow ``t -> t+1`` **bilinearly** interpolated at ``p``;
* it stops when ``p + w`` leaves the image (``0 <= x <= W-1``,
  ``0 <= y <= H-1``), or when the forward-backward test
  ``|w + ŵ|² < alpha (|w|² + |ŵ|²) + beta`` fails, ``ŵ`` being the backward
  flow ``t+1 -> t`` bilinearly interpolated at ``p + w``;
* it stops when the flow it used is *saturated*: with ``saturation_bound``
  ``B`` (the store's clip bound), a step whose bilinear sample of the forward
  flow at ``p`` or of the backward flow at ``p + w`` touches a pixel with a
  component within ``SATURATION_MARGIN`` code steps of ``±B`` is rejected:
  clipped forward and backward flow cancel (+B and -B) and would otherwise
  pass the consistency test while the point falls behind the true motion;
* optionally it stops at motion boundaries:
  ``|∇u|² + |∇v|² > 0.01 |w|² + 0.002`` (gradients of the forward flow at
  ``p``, central differences).

All live points of a frame are processed at once: one ``grid_sample`` of the
forward flow (plus its gradient map when enabled) at ``p`` and one of the
backward flow at ``p + w``. The saturation test is decided once per flow field
(:mod:`.flow_feed`, one max-|v| pass on the host); only a field with a clipped
value has a clip mask to sample.
On the CPU the loop runs on one intra-op thread (``cpu_threads``).
"""
from typing import Optional, Tuple

import numpy as np
import torch

from ..utils.shard_env import resolve_device
from .flow_feed import (SATURATION_MARGIN, FlowFeed, FlowPair, FlowProvider,
                        saturation_level)
from .geometry import flow_gradient_sq, grid_params, sample_points
from .tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                     STOP_MOTION_BOUNDARY, STOP_SATURATED, Tracks)

__all__ = ['PointTracker', 'sample_seeds', 'track_video', 'round_terms_fp16',
           'SATURATION_MARGIN', 'FlowProvider']
_FP16_MAX = 65504.0


def round_terms_fp16(terms: torch.Tensor) -> torch.Tensor:
    """Store consistency terms in fp16 so re-thresholding stays exact.

    ``|w+ŵ|²`` is rounded down and ``|w|²+|ŵ|²`` up (same result as
    ``track_file.round_fp16``, computed in torch for speed): a step that passed
    ``c < alpha s + beta`` still passes with the stored values.

    Args:
        terms (torch.Tensor): 2×M float32 rows ``(|w+ŵ|², |w|²+|ŵ|²)``,
            non-negative (the tracker's layout: contiguous rows convert
            several times faster than the columns of an M×2 tensor).

    Returns:
        torch.Tensor: 2×M float16 on the CPU.
    """
    terms = terms.float().cpu()
    c = terms[0].clamp(max=_FP16_MAX)
    half = torch.stack([c, terms[1]]).half()
    back = half.float()
    bits = half.view(torch.int16)
    bits[0] -= (back[0] > c).to(torch.int16)
    bits[1] += (back[1] < terms[1]).to(torch.int16)
    return half


def _scatter_rows(rows: torch.Tensor, dest: np.ndarray) -> np.ndarray:
    """``out[dest[k]] = rows[:, k]``: 2×M rows into an M×2 array.

    One ``index_copy_`` reads the rows through their transposed view: no
    transposed copy first (half the cost of a numpy transpose + scatter).
    """
    out = rows.new_empty((rows.shape[1], 2))
    out.index_copy_(0, torch.from_numpy(dest), rows.t())
    return out.numpy()


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
        device (str | torch.device, optional): ``'cpu'`` (also None),
            ``'auto'``/``'cuda'`` (this process's GPU, from ``LOCAL_RANK`` /
            ``SLURM_LOCALID``; an error where none is visible), ``'cuda:I'``.
        prefetch (bool): Fetch flow pair ``t+1`` in a background thread while
            pair ``t`` is tracked (overlaps decoding and tracking). Off by
            default: the two threads cost a clip up to 44% more CPU than one
            (237 ms against 165 on a K400-sized clip on an idle 2-core host)
            and were not faster, so one process per core tracks more clips
            (``docs/tracking.md``, "Speed"); it can help a lone process with
            an idle core.
        saturation_bound (float, optional): Clip bound ``B`` (px) of the flow
            store the flow comes from; steps that sample flow at the bound
            stop with ``STOP_SATURATED``. None (flow that was never clipped)
            disables the test.
        cpu_threads (int, optional): torch intra-op threads while tracking
            on the CPU (restored afterwards). Default 1: a frame step is
            ~30 ops on a few thousand points, too small to split, and idle
            intra-op threads took the core the flow-decoding thread needs
            (tracking alone cost 2× the CPU time with 2 threads;
            ``docs/tracking.md``). None keeps the process setting.
    """

    def __init__(self, alpha: float = 0.01, beta: float = 0.5,
                 motion_boundary: bool = False,
                 device: Optional[str] = None, prefetch: bool = False,
                 saturation_bound: Optional[float] = None,
                 cpu_threads: Optional[int] = 1):
        self.prefetch = bool(prefetch)
        if cpu_threads is not None and cpu_threads < 1:
            raise ValueError(f'cpu_threads must be >= 1, got {cpu_threads}')
        self.cpu_threads = cpu_threads
        if saturation_bound is not None and saturation_bound <= 0:
            raise ValueError(f'saturation_bound must be > 0, got '
                             f'{saturation_bound}')
        self.saturation_bound = (None if saturation_bound is None else
                                 float(saturation_bound))
        self.sat_level = saturation_level(saturation_bound)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.motion_boundary = bool(motion_boundary)
        self.device = torch.device(resolve_device(
            'cpu' if device is None else str(device),
            torch.cuda.device_count(), what='tracking',
            cpu_flag='--track-device cpu'))

    def _step(self, pair: FlowPair, pos: torch.Tensor,
              size: Tuple[int, int], params):
        """Advect M live points one frame.

        Everything is channel-major (2×M rows of x and y): see
        :func:`sample_points`. Only a clipped field has a clip mask
        (:class:`FlowPair`) to sample; bilinear weights > 0 on a clipped
        pixel make the sample > 0.

        Args:
            pair (FlowPair): Forward (t->t+1) and backward (t+1->t) flow.
            pos (torch.Tensor): 2×M positions at frame t.
            size (tuple[int, int]): ``(H, W)``.
            params (tuple): ``grid_params(size, device)`` plus the 2×1
                tensor ``(W-1, H-1)`` (inside-image bound).

        Returns:
            tuple: new positions 2×M; ``ok`` M bool (keeps going); terms 2×M
            float32 (rows ``|w+ŵ|²``, ``|w|²+|ŵ|²``); and ``why``, the M bool
            tensors ``(inside, consistent, saturated)`` for
            :meth:`_fill_stops` (a dead point that was inside, consistent and
            not saturated stopped at a motion boundary); ``saturated`` is
            None when neither field is clipped.
        """
        fwd_t, bwd_t = pair.fwd, pair.bwd
        if tuple(fwd_t.shape[2:]) != size or tuple(bwd_t.shape[2:]) != size:
            raise ValueError(
                f'flow of shape {tuple(fwd_t.shape[2:])}/'
                f'{tuple(bwd_t.shape[2:])} does not match frame size {size}')
        if self.motion_boundary:
            fwd_t = torch.cat([fwd_t, flow_gradient_sq(fwd_t)], dim=1)
        sampled = sample_points(fwd_t, pos, size, params)
        flow = sampled[:2]
        new = pos + flow
        back = sample_points(bwd_t, new, size, params)
        saturated = None
        for mask, at in ((pair.fwd_mask, pos), (pair.bwd_mask, new)):
            if mask is not None:
                hit = sample_points(mask, at, size, params)[0] > 0
                saturated = hit if saturated is None else saturated | hit
        # rows of (w+ŵ, w, ŵ) squared, x² + y² -> |w+ŵ|², |w|², |ŵ|²
        sq = torch.stack([flow + back, flow, back]).square_().sum(1)
        if self.motion_boundary:
            boundary = sampled[2] > 0.01 * sq[1] + 0.002
        sq[1] += sq[2]
        terms = sq[:2]  # |w+ŵ|², |w|² + |ŵ|²
        consistent = terms[0] < terms[1] * self.alpha + self.beta
        inside = (new >= 0) & (new <= params[2])
        inside = inside[0] & inside[1]
        ok = consistent & inside
        if self.motion_boundary:
            ok &= ~boundary
        if saturated is not None:
            ok &= ~saturated
        return new, ok, terms, (inside, consistent, saturated)

    @staticmethod
    def _fill_stops(stop: torch.Tensor, deaths) -> None:
        """Write the stop codes of every point that died, in one batch.

        Leaving the image wins over saturation, which wins over
        inconsistency, which wins over the motion boundary. Done once per
        video rather than per frame (fewer tiny ops).

        Args:
            stop (torch.Tensor): N uint8 codes, ``STOP_END`` for survivors.
            deaths (list): ``(ids, ok, inside, consistent, saturated)`` of
                every step that lost points (M-long tensors of that step).
        """
        if not deaths:
            return
        ids, ok, inside, consistent, saturated = (torch.cat(c)
                                                  for c in zip(*deaths))
        dead = (~ok).nonzero().squeeze(1)
        code = torch.where(consistent.index_select(0, dead),
                           STOP_MOTION_BOUNDARY, STOP_INCONSISTENT)
        code.masked_fill_(saturated.index_select(0, dead), STOP_SATURATED)
        code.masked_fill_(~inside.index_select(0, dead), STOP_LEFT)
        stop[ids.index_select(0, dead)] = code.to(torch.uint8)

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
        order = np.argsort(start, kind='stable')
        bounds = np.searchsorted(start[order], np.arange(num_frames + 1))
        seed_ids = torch.from_numpy(order).to(dev)
        seed_xy = torch.tensor(  # 2×N rows (x, y), see sample_points
            np.asarray(xy, dtype=np.float32)[order].T.copy(), device=dev)
        stop = torch.full((n, ), STOP_END, dtype=torch.uint8, device=dev)
        params = grid_params((h, w), dev) + (
            torch.tensor([[w - 1.0], [h - 1.0]], device=dev), )
        feed = FlowFeed(flow_provider, num_frames - 1, self.sat_level, dev,
                        self.prefetch and num_frames > 2)
        threads = torch.get_num_threads()
        if dev.type == 'cpu' and self.cpu_threads is not None:
            torch.set_num_threads(self.cpu_threads)
        try:
            return self._track(feed, num_frames, (h, w), start, bounds,
                               seed_ids, seed_xy, stop, params, meta)
        finally:
            feed.close()
            torch.set_num_threads(threads)

    def _track(self, feed, num_frames, size, start, bounds,
               seed_ids, seed_xy, stop, params, meta) -> Tracks:
        """The frame loop of :meth:`track` (arguments prepared there)."""
        h, w = size
        n = start.shape[0]
        # compact live set: ids and positions of the points alive at t
        live_ids = seed_ids[:0]
        live_xy = seed_xy[:, :0]
        rec_ids, rec_xy, rec_n, step_ids, step_terms, step_n = ([], [], [],
                                                                [], [], [])
        deaths = []
        for t in range(num_frames):
            b0, b1 = int(bounds[t]), int(bounds[t + 1])
            if b1 > b0:
                live_ids = torch.cat([live_ids, seed_ids[b0:b1]])
                live_xy = torch.cat([live_xy, seed_xy[:, b0:b1]], 1)
            rec_ids.append(live_ids)
            rec_xy.append(live_xy)
            rec_n.append(live_ids.shape[0])
            if t == num_frames - 1:
                break
            if live_ids.shape[0] == 0:
                step_n.append(0)
                continue
            new, ok, terms, why = self._step(feed(t), live_xy, (h, w),
                                             params)
            keep = ok.nonzero().squeeze(1)
            if keep.shape[0] < live_ids.shape[0]:
                if why[2] is None:
                    why = why[:2] + (torch.zeros_like(ok), )
                deaths.append((live_ids, ok) + why)
            live_ids = live_ids.index_select(0, keep)
            live_xy = new.index_select(1, keep)
            step_ids.append(live_ids)
            step_terms.append(terms.index_select(1, keep))
            step_n.append(live_ids.shape[0])
        self._fill_stops(stop, deaths)
        return self._assemble(n, num_frames, (h, w), start, rec_ids, rec_xy,
                              rec_n, step_ids, step_terms, step_n, stop, meta)

    def _assemble(self, n, num_frames, size, start, rec_ids, rec_xy, rec_n,
                  step_ids, step_terms, step_n, stop, meta) -> Tracks:
        """Turn per-frame records into ragged ``Tracks`` (order by track).

        A record of track ``i`` on frame ``f`` goes to flat index
        ``first[i] + f - start[i]`` (tracks are contiguous runs), so no sort
        is needed.
        """

        def cat(items):
            """Concatenate 1-D id records to one int64 numpy array."""
            if not items:
                return np.zeros((0, ), np.int64)
            return torch.cat(items).cpu().numpy().astype(np.int64, copy=False)

        ids = cat(rec_ids)
        frames = np.repeat(np.arange(len(rec_n)), rec_n)
        length = np.bincount(ids, minlength=n).astype(np.int64)
        first = np.cumsum(length) - length
        pts = np.zeros((0, 2), np.float32)
        if rec_xy:
            pts = _scatter_rows(torch.cat(rec_xy, 1).cpu(),
                                (first - start)[ids] + frames)
        sids = cat(step_ids)
        sframes = np.repeat(np.arange(len(step_n)), step_n)
        steps = length - 1
        sfirst = np.cumsum(steps) - steps
        terms = np.zeros((0, 2), np.float16)
        if step_terms:
            terms = _scatter_rows(round_terms_fp16(torch.cat(step_terms, 1)),
                                  (sfirst - start)[sids] + sframes)
        meta = dict(meta or {}, alpha=self.alpha, beta=self.beta,
                    motion_boundary=self.motion_boundary,
                    saturation_bound=self.saturation_bound)
        return Tracks(start.astype(np.int32), length, stop.cpu().numpy(),
                      pts, terms, num_frames, size, meta)


def track_video(flow_provider: FlowProvider, num_frames: int,
                frame_size: Tuple[int, int], num_points: int,
                rng: np.random.Generator, alpha: float = 0.01,
                beta: float = 0.5, motion_boundary: bool = False,
                device: Optional[str] = None,
                meta: Optional[dict] = None,
                saturation_bound: Optional[float] = None,
                prefetch: bool = False) -> Tracks:
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
        device (str, optional): Torch device (:class:`PointTracker`).
        meta (dict, optional): Extra provenance stored with the tracks.
        saturation_bound (float, optional): Clip bound of the flow store
            (``FlowReader.bound``); see ``PointTracker``.
        prefetch (bool): Decode pair ``t+1`` in a thread (``PointTracker``).

    Returns:
        Tracks: N tracks.
    """
    start, xy = sample_seeds(num_points, num_frames, frame_size, rng)
    tracker = PointTracker(alpha, beta, motion_boundary, device,
                           prefetch=prefetch, saturation_bound=saturation_bound)
    meta = dict(meta or {}, num_points=int(num_points))
    return tracker.track(flow_provider, num_frames, frame_size, start, xy,
                         meta)
