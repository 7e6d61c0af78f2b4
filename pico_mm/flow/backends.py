"""Optical-flow backends behind one interface (pure torch/numpy/cv2).

``backend(frames1, frames2) -> (fwd, bwd)``: ``frames1``/``frames2`` are
N×H×W×3 uint8 **BGR** arrays (pairs ``(frames1[i], frames2[i])``); ``fwd[i]``
is the float32 H×W×2 (x, y) flow frames1[i] → frames2[i], ``bwd[i]`` the flow
frames2[i] → frames1[i].

* ``dis``: OpenCV DIS optical flow (CPU, no weights; default for CPU, tests
  and the demo).
* ``raft``: torchvision ``raft_large`` with weights from a path (an MMFlow
  checkpoint is converted on the fly, see :mod:`pico_mm.flow.raft_convert`),
  MMFlow's test-time conventions (edge padding centred to a multiple of 8,
  inputs ``(x - 127.5) / 127.5``, 32 refinement iterations, final flow only).
"""
import contextlib
from typing import Optional, Tuple

import cv2
import numpy as np

from pico_mm.utils.shard_env import resolve_device

DIS_PRESETS = {'ultrafast': 0, 'fast': 1, 'medium': 2}
PRECISIONS = ('fp32', 'bf16')
RAFT_MIN_SIZE = 128  # torchvision raises for smaller inputs (1/8 maps < 16)


def _check_pairs(frames1: np.ndarray, frames2: np.ndarray) -> None:
    if frames1.shape != frames2.shape or frames1.ndim != 4 or frames1.shape[-1] != 3:
        raise ValueError(f'need two N×H×W×3 arrays of equal shape, got '
                         f'{frames1.shape} and {frames2.shape}')
    if frames1.dtype != np.uint8 or frames2.dtype != np.uint8:
        raise ValueError('frames must be uint8 BGR')


class DISBackend:
    """OpenCV DIS optical flow.

    Args:
        preset: ``'ultrafast'``, ``'fast'`` or ``'medium'`` (default).
    """
    name = 'dis'

    def __init__(self, preset: str = 'medium'):
        if preset not in DIS_PRESETS:
            raise ValueError(f'DIS preset must be one of {sorted(DIS_PRESETS)}, got {preset!r}')
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    def describe(self) -> dict:
        """Settings recorded in the store meta."""
        return dict(backend='dis', dis_preset=self.preset)

    def pair(self, g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
        """Flow g1 → g2 of two H×W uint8 grey images, float32 H×W×2."""
        return self._dis.calc(g1, g2, None).astype(np.float32, copy=False)

    def __call__(self, frames1: np.ndarray,
                 frames2: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Forward and backward flow, each float32 N×H×W×2."""
        _check_pairs(frames1, frames2)
        fwd, bwd = [], []
        for a, b in zip(frames1, frames2):
            ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
            gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
            fwd.append(self.pair(ga, gb))
            bwd.append(self.pair(gb, ga))
        return np.stack(fwd), np.stack(bwd)


def centred_pad(h: int, w: int, multiple: int = 8,
                min_size: int = RAFT_MIN_SIZE) -> Tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` edge padding used before RAFT.

    MMFlow's ``InputPad(exponent=3)``: pad to a multiple of 8, centred
    (``top = pad // 2``). Sizes below ``min_size`` are padded further (same
    centring) because torchvision's RAFT refuses them; MMFlow would not pad
    there, so tiny frames differ from MMFlow (frames of 256p never do).
    """
    if min_size % multiple:
        raise ValueError('min_size must be a multiple of `multiple`')

    def one(n):
        p = (multiple - n % multiple) % multiple
        p = max(p, min_size - n)
        return p // 2, p - p // 2
    t, b = one(h)
    l_, r = one(w)
    return t, b, l_, r


def auto_device(cuda_count: int, env: Optional[dict] = None,
                cpu_flag: str = '--device cpu') -> str:
    """This process's GPU, ``cuda:{local_rank % cuda_count}``; never the CPU.

    The local rank comes from the launcher (``LOCAL_RANK`` under torchrun,
    ``SLURM_LOCALID`` under srun; :func:`pico_mm.utils.shard_env.
    resolve_launch`), so every process of a node takes its own GPU.

    Raises:
        NoGPUError: ``cuda_count < 1``; the message names ``cpu_flag``, the
            way to run on the CPU on purpose.
    """
    return resolve_device('auto', cuda_count, None, 'RAFT', cpu_flag, env)


class RAFTBackend:
    """torchvision RAFT-large with MMFlow conventions.

    Args:
        checkpoint: Path of an MMFlow RAFT or torchvision ``raft_large``
            checkpoint (never downloaded).
        iters: GRU refinement iterations (MMFlow test default 32).
        device: ``'auto'`` or ``'cuda'`` (:func:`auto_device`: the local
            rank's GPU; an error without one), ``'cpu'`` (on purpose),
            ``'cuda:1'``, ...
        bf16: Old spelling of ``precision='bf16'``.
        batch_size: Max pairs per forward call (each runs fwd and bwd, i.e.
            a model batch of ``2 * batch_size``); None = all given pairs. A
            CUDA out-of-memory error is retried once at half this size.
        precision: ``'fp32'`` (default) or ``'bf16'`` (autocast, on CUDA
            or the CPU). bf16 is not the default: its EPE change against
            fp32, measured in docs/flow.md on the only weights at hand
            (random), exceeds the store's code step; decide with the
            trained checkpoint on a GPU (docs/gpu.md). None: ``bf16``'s
            value.
        trust_checkpoint: Allow a checkpoint that needs code execution to
            load (it is read weights-only otherwise); None = the process-wide
            ``--trust-checkpoint`` setting.
    """
    name = 'raft'

    def __init__(self, checkpoint: str, iters: int = 32, device: str = 'auto',
                 bf16: bool = False, batch_size: Optional[int] = None,
                 trust_checkpoint: Optional[bool] = None,
                 precision: Optional[str] = None):
        import torch
        from torchvision.models.optical_flow import raft_large

        from .raft_convert import load_raft_state_dict
        self.device = torch.device(resolve_device(
            str(device), torch.cuda.device_count(), what='RAFT'))
        self.iters = int(iters)
        if precision is None:
            precision = 'bf16' if bf16 else 'fp32'
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
        self.precision = precision
        self.bf16 = precision == 'bf16'
        self.batch_size = batch_size
        self.checkpoint = checkpoint
        sd, self.checkpoint_format = load_raft_state_dict(checkpoint,
                                                           trust_checkpoint)
        model = raft_large(weights=None)
        model.load_state_dict(sd, strict=True)
        self.model = model.eval().to(self.device)

    def describe(self) -> dict:
        """Settings recorded in the store meta."""
        return dict(backend='raft', raft_iters=self.iters, raft_bf16=self.bf16,
                    raft_precision=self.precision, raft_checkpoint=self.checkpoint,
                    raft_checkpoint_format=self.checkpoint_format)

    def host_array(self, shape: Tuple[int, ...]) -> np.ndarray:
        """uint8 host buffer for a batch of frames: page-locked (pinned) on
        CUDA, so the copy to the GPU runs asynchronously
        (:func:`pico_mm.flow.pipeline.host_stack` fills it)."""
        if self.device.type != 'cuda':
            return np.empty(shape, np.uint8)
        import torch
        return torch.empty(shape, dtype=torch.uint8, pin_memory=True).numpy()

    def _normalise(self, frames: np.ndarray):
        import torch
        import torch.nn.functional as F
        x = torch.from_numpy(np.ascontiguousarray(frames))
        x = x.to(self.device, non_blocking=True)  # async from pinned memory
        x = x.flip(-1).permute(0, 3, 1, 2).float()  # BGR -> RGB, N×3×H×W
        x = (x - 127.5) / 127.5
        t, b, l_, r = centred_pad(x.shape[2], x.shape[3])
        if t or b or l_ or r:
            x = F.pad(x, (l_, r, t, b), mode='replicate')
        return x, (t, b, l_, r)

    def flow(self, image1, image2, checkpoints=None):
        """Final RAFT flow for normalised, padded N×3×H×W tensors → N×2×H×W.

        Same computation as ``torchvision RAFT.forward`` but the convex
        upsampling runs once, after the last iteration (saves memory/time;
        the earlier iterates are never used).

        Args:
            checkpoints: Iteration counts (each ≤ ``self.iters``) at which
                to also upsample the flow; the result is then a list of
                N×2×H×W flows, one per count (the EPE-vs-iterations
                benchmark runs 32 iterations once this way).
        """
        import torch.nn.functional as F
        from torchvision.models.optical_flow._utils import (make_coords_grid,
                                                            upsample_flow)
        m = self.model
        n, _, h, w = image1.shape
        fmaps = m.feature_encoder(torch_cat([image1, image2]))
        fmap1, fmap2 = fmaps.chunk(2, dim=0)
        m.corr_block.build_pyramid(fmap1, fmap2)
        ctx = m.context_encoder(image1)
        hs = m.update_block.hidden_state_size
        hidden, context = ctx.split([hs, ctx.shape[1] - hs], dim=1)
        hidden, context = hidden.tanh(), F.relu(context)
        coords0 = make_coords_grid(n, h // 8, w // 8).to(fmap1.device)
        coords1 = coords0.clone()

        def upsampled():
            up_mask = None if m.mask_predictor is None else m.mask_predictor(hidden)
            return upsample_flow(flow=(coords1 - coords0), up_mask=up_mask)
        kept = []
        for i in range(self.iters):
            corr = m.corr_block.index_pyramid(centroids_coords=coords1)
            hidden, delta = m.update_block(hidden, context, corr, coords1 - coords0)
            coords1 = coords1 + delta
            if checkpoints and i + 1 in checkpoints:
                kept.append(upsampled())
        return kept if checkpoints else upsampled()

    def _chunk(self, frames1: np.ndarray, frames2: np.ndarray) -> np.ndarray:
        """Flow of K pairs: float32 2K×H×W×2 (the K forward, then backward)."""
        import torch
        h, w = frames1.shape[1:3]
        amp = (torch.autocast(self.device.type, dtype=torch.bfloat16)
               if self.bf16 else contextlib.nullcontext())
        with torch.inference_mode(), amp:
            a, pad = self._normalise(frames1)
            b, _ = self._normalise(frames2)
            out = self.flow(torch.cat([a, b]), torch.cat([b, a])).float()
            t, _, l_, _ = pad
            out = out[:, :, t:t + h, l_:l_ + w].permute(0, 2, 3, 1)
            return out.cpu().numpy()  # waits for the GPU with the GIL released

    def __call__(self, frames1: np.ndarray,
                 frames2: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Forward and backward flow, each float32 N×H×W×2.

        A CUDA out-of-memory error is retried once with the batch halved; a
        second one is raised (the job then stops: it is a fault, not data).
        """
        import torch
        _check_pairs(frames1, frames2)
        n = frames1.shape[0]
        step = self.batch_size or n
        fwd, bwd = [], []
        for s in range(0, n, step):
            a, b = frames1[s:s + step], frames2[s:s + step]
            try:
                outs = [self._chunk(a, b)]
            except torch.cuda.OutOfMemoryError:
                if len(a) < 2:
                    raise
                torch.cuda.empty_cache()
                half = (len(a) + 1) // 2
                outs = [self._chunk(a[i:i + half], b[i:i + half])
                        for i in range(0, len(a), half)]
            for out in outs:
                k = out.shape[0] // 2
                fwd.append(out[:k])
                bwd.append(out[k:])
        return np.concatenate(fwd), np.concatenate(bwd)


def torch_cat(xs):
    """``torch.cat`` along dim 0 (kept separate for readability)."""
    import torch
    return torch.cat(xs, dim=0)


def build_backend(name: str, **kwargs):
    """Backend by name: ``'dis'`` (kwargs: preset) or ``'raft'`` (kwargs:
    checkpoint, iters, device, precision, bf16, batch_size, trust_checkpoint)."""
    if name == 'dis':
        return DISBackend(preset=kwargs.get('preset') or 'medium')
    if name == 'raft':
        if not kwargs.get('checkpoint'):
            raise ValueError('--backend raft needs --raft-checkpoint PATH '
                             '(MMFlow or torchvision raft_large weights; never downloaded)')
        return RAFTBackend(kwargs['checkpoint'], iters=kwargs.get('iters') or 32,
                           device=kwargs.get('device') or 'auto',
                           bf16=bool(kwargs.get('bf16')),
                           batch_size=kwargs.get('batch_size'),
                           trust_checkpoint=kwargs.get('trust_checkpoint'),
                           precision=kwargs.get('precision'))
    raise ValueError(f'unknown flow backend {name!r} (use dis or raft)')
