"""A flow-estimator stand-in with a fixed cost per pair (pure numpy/cv2).

Measuring whether the extraction pipeline keeps a GPU busy needs no GPU: a
GPU call costs the calling thread wall time while it holds no CPU and not
the GIL (the kernels run on the device; the thread sleeps in the CUDA
synchronisation). :class:`StandInBackend` reproduces exactly that: each call
sleeps until ``seconds_per_pair × N`` has passed since it started.
``benchmarks/bench_flow_pipeline.py`` uses it to measure the
estimator-busy fraction at the Kinetics setting, and the tests use it to
check that the overlapped pipeline writes the same store as the serial path.

Its flow is cheap but depends on the frames (a blurred green-channel
difference, up to ±``scale`` px), so a store written from it shows any
reordering of frames or pairs and its JPEG coding costs about as much as a
textured real flow field's.
"""
import time
from typing import Tuple

import cv2
import numpy as np


class StandInBackend:
    """``backend(frames1, frames2) -> (fwd, bwd)`` at a fixed cost.

    Args:
        seconds_per_pair: Wall time charged per pair (forward and backward),
            e.g. what RAFT needs per 256×340 pair on the GPU one plans for.
        scale: Flow magnitude in px of a full-range frame difference / 16.
    """
    name = 'standin'

    def __init__(self, seconds_per_pair: float = 0.0, scale: float = 1.0):
        if seconds_per_pair < 0:
            raise ValueError(f'seconds_per_pair must be >= 0, got {seconds_per_pair}')
        self.seconds_per_pair = float(seconds_per_pair)
        self.scale = float(scale)

    def describe(self) -> dict:
        """Settings recorded in the store meta."""
        return dict(backend='standin', standin_seconds_per_pair=self.seconds_per_pair)

    def __call__(self, frames1: np.ndarray,
                 frames2: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Forward and backward flow, each float32 N×H×W×2 (x, y).

        Args:
            frames1, frames2: N×H×W×3 uint8 BGR.
        """
        t0 = time.perf_counter()
        if frames1.shape != frames2.shape or frames1.ndim != 4:
            raise ValueError(f'need two N×H×W×3 arrays of equal shape, got '
                             f'{frames1.shape} and {frames2.shape}')
        fwd = np.empty(frames1.shape[:3] + (2,), np.float32)
        for i, (a, b) in enumerate(zip(frames1, frames2)):
            d = cv2.subtract(b[..., 1], a[..., 1], dtype=cv2.CV_32F)
            d = cv2.blur(d, (5, 5)) * np.float32(self.scale / 16)
            fwd[i, ..., 0] = d
            fwd[i, ..., 1] = d * np.float32(-0.5)
        bwd = -fwd
        rest = self.seconds_per_pair * len(frames1) - (time.perf_counter() - t0)
        if rest > 0:
            time.sleep(rest)  # the device works; this thread holds no GIL
        return fwd, bwd
