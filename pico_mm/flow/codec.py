"""Zero-exact 8-bit flow quantisation and JPEG coding (pure numpy/cv2).

Code (per flow component, bound ``B`` px)::

    q = clip(rint(v * 127 / B), -127, 127) + 128      # uint8 in [1, 255]
    v = (q - 128) * B / 127                           # float32

255 levels, symmetric around ``q = 128`` which decodes to exactly ``0.0``: zero
flow has no bias and chained decodes never drift (the denseflow code
``rint(255 (v + B) / 2B)`` maps 0 to 127.5 -> 128 and decodes to +0.078 px at
B = 20). Step ``B / 127`` (0.157 px at B = 20), max rounding error half a step,
RMS ``step / sqrt(12)`` = 0.045 px before JPEG. ``q = 0`` is never produced.
A constant 128 image has all-zero JPEG DCT coefficients (JPEG level-shifts by
128), so it decodes to exactly 128: zero flow stays exactly zero through JPEG.

Temporal dither (the store's default): before rounding, pair ``t`` adds a
frame-constant offset ``d = frac(1/2 + t·φ + k/4) − 1/2`` code units
(``φ = (√5 − 1)/2``, ``k`` = member index 0..3 for forward x/y, backward x/y).
Without it a *steady* motion (a camera pan, a slow rotation) is rounded the same
way every frame and a chained track drifts by up to half a step per frame (a
1 px/frame pan: 1.9 px after 30 steps at B = 20). The golden-ratio sequence is
low-discrepancy over every window of consecutive frames, so the rounding
errors of a steady motion cancel over time (0.09 px after 30 steps; the
synthetic tests in ``tests/tracking`` check every motion stays within 0.5 px).
``|d| <= 1/2`` keeps zero exact: ``rint(0 + d) = 0`` (ties to even), and every
grid value ``k·B/127`` is still coded exactly. The decoder does not need ``d``
(non-subtractive dither): the price is a larger single-step error, up to one
step instead of half a step (RMS 0.063 px instead of 0.045 px before JPEG).
"""
from typing import Tuple

import cv2
import numpy as np

ZERO_LEVEL = 128
HALF_LEVELS = 127
_GOLDEN = (5 ** 0.5 - 1) / 2


def dither_offsets(t: int) -> Tuple[float, float, float, float]:
    """Dither of pair ``t`` for forward x, forward y, backward x, backward y.

    Args:
        t (int): Pair index (frame ``t`` → ``t + 1``).

    Returns:
        tuple: Four offsets in code units, each in ``[-0.5, 0.5)``.
    """
    return tuple(float((0.5 + t * _GOLDEN + k / 4) % 1.0) - 0.5
                 for k in range(4))


def quantize(v: np.ndarray, bound: float,
             dither: float = 0.0) -> Tuple[np.ndarray, int]:
    """Quantise flow values to uint8.

    Args:
        v: float array (any shape), pixels.
        bound: Clip bound ``B`` > 0.
        dither: Offset in code units added before rounding, ``|dither| <=
            0.5`` so that zero still codes to 128 (see module docstring).

    Returns:
        tuple: ``q`` uint8 array of v's shape in [1, 255], and the number of
        values with ``|v| > B`` (clipped; non-finite values count as clipped
        and map to 128 for NaN).
    """
    if not -0.5 <= dither <= 0.5:
        raise ValueError(f'dither must be in [-0.5, 0.5], got {dither}')
    v = np.asarray(v, dtype=np.float32)
    # float64 arithmetic, in place (the extraction writer's hot path: half
    # the time of the where/where/clip chain it replaces, same codes)
    s = v.astype(np.float64)
    s *= HALF_LEVELS / bound
    s += dither
    np.rint(s, out=s)
    clipped = int(np.count_nonzero(np.abs(v) > bound))
    nan = np.isnan(s)
    if nan.any():  # NaN codes to 0 (128) and counts as clipped; ±inf clip
        clipped += int(np.count_nonzero(nan))
        s[nan] = 0.0
    np.clip(s, -HALF_LEVELS, HALF_LEVELS, out=s)
    s += ZERO_LEVEL
    return s.astype(np.uint8), clipped


def dequantize(q: np.ndarray, bound: float) -> np.ndarray:
    """Inverse of :func:`quantize`: uint8 array -> float32 pixels.

    One conversion, then subtract and scale in place (the decoder's hot path).
    """
    v = q.astype(np.float32)
    v -= ZERO_LEVEL
    v *= np.float32(bound / HALF_LEVELS)
    return v


def encode_jpeg(q: np.ndarray, quality: int) -> bytes:
    """Encode an H×W uint8 image as a baseline grayscale JPEG (deterministic)."""
    ok, buf = cv2.imencode('.jpg', np.ascontiguousarray(q),
                           [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError('cv2.imencode failed to encode a flow JPEG')
    return buf.tobytes()


def decode_jpeg(data: bytes, name: str = '<jpeg>') -> np.ndarray:
    """Decode grayscale JPEG bytes to an H×W uint8 array.

    Raises:
        ValueError: Undecodable data (message names ``name``).
    """
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f'{name}: corrupt JPEG member')
    return img


def encode_flow(flow: np.ndarray, bound: float, quality: int,
                dither: Tuple[float, float] = (0.0, 0.0)
                ) -> Tuple[bytes, bytes, int]:
    """Encode an H×W×2 flow as two JPEGs (x, y).

    Args:
        flow: H×W×2 float flow, (x, y) order.
        bound: Clip bound ``B``.
        quality: JPEG quality 1..100.
        dither: Offsets (code units) for the x and y components.

    Returns:
        tuple: ``(jpeg_x, jpeg_y, n_clipped)``.
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f'flow must be H×W×2, got {flow.shape}')
    qx, cx = quantize(flow[..., 0], bound, dither[0])
    qy, cy = quantize(flow[..., 1], bound, dither[1])
    return encode_jpeg(qx, quality), encode_jpeg(qy, quality), cx + cy


def decode_flow(jpeg_x: bytes, jpeg_y: bytes, bound: float,
                name: str = '<flow>') -> np.ndarray:
    """Decode two JPEG components to an H×W×2 float32 flow.

    The uint8 planes are interleaved first and dequantised once (about 4×
    faster than dequantising each plane and stacking the floats; decoding is
    most of the tracking tool's time).
    """
    qx = decode_jpeg(jpeg_x, name + ':x')
    qy = decode_jpeg(jpeg_y, name + ':y')
    if qx.shape != qy.shape:
        raise ValueError(f'{name}: x/y components differ in size')
    return dequantize(cv2.merge([qx, qy]), bound)
