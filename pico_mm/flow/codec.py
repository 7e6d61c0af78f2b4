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
"""
from typing import Tuple

import cv2
import numpy as np

ZERO_LEVEL = 128
HALF_LEVELS = 127


def quantize(v: np.ndarray, bound: float) -> Tuple[np.ndarray, int]:
    """Quantise flow values to uint8.

    Args:
        v: float array (any shape), pixels.
        bound: Clip bound ``B`` > 0.

    Returns:
        tuple: ``q`` uint8 array of v's shape in [1, 255], and the number of
        values with ``|v| > B`` (clipped; non-finite values count as clipped
        and map to 128 for NaN).
    """
    v = np.asarray(v, dtype=np.float32)
    finite = np.isfinite(v)
    s = np.rint(np.where(finite, v, 0).astype(np.float64) * (HALF_LEVELS / bound))
    s = np.where(np.isposinf(v), HALF_LEVELS, np.where(np.isneginf(v), -HALF_LEVELS, s))
    clipped = int(np.count_nonzero(np.abs(v) > bound) + np.count_nonzero(np.isnan(v)))
    s = np.clip(s, -HALF_LEVELS, HALF_LEVELS)
    return (s + ZERO_LEVEL).astype(np.uint8), clipped


def dequantize(q: np.ndarray, bound: float) -> np.ndarray:
    """Inverse of :func:`quantize`: uint8 array -> float32 pixels."""
    return ((q.astype(np.float32) - ZERO_LEVEL) * np.float32(bound / HALF_LEVELS)).astype(
        np.float32)


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


def encode_flow(flow: np.ndarray, bound: float,
                quality: int) -> Tuple[bytes, bytes, int]:
    """Encode an H×W×2 flow as two JPEGs (x, y).

    Returns:
        tuple: ``(jpeg_x, jpeg_y, n_clipped)``.
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f'flow must be H×W×2, got {flow.shape}')
    qx, cx = quantize(flow[..., 0], bound)
    qy, cy = quantize(flow[..., 1], bound)
    return encode_jpeg(qx, quality), encode_jpeg(qy, quality), cx + cy


def decode_flow(jpeg_x: bytes, jpeg_y: bytes, bound: float,
                name: str = '<flow>') -> np.ndarray:
    """Decode two JPEG components to an H×W×2 float32 flow."""
    qx = decode_jpeg(jpeg_x, name + ':x')
    qy = decode_jpeg(jpeg_y, name + ':y')
    if qx.shape != qy.shape:
        raise ValueError(f'{name}: x/y components differ in size')
    return np.stack([dequantize(qx, bound), dequantize(qy, bound)], axis=-1)
