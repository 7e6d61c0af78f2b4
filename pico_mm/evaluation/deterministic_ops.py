"""Image operations whose results are bit-identical on every x86-64 machine.

Evaluation data generated at run time (the exact-GT pair sets, rendered clips)
must not depend on the CPU. Measured (docs/evaluation.md, "Same sets on every
machine"): numpy 1.26 dispatches float64 ``exp``/``log`` and float32 ``power`` to
AVX512 (SVML) code whose last bit differs from the AVX2/SSE paths, and OpenCV's
float ``GaussianBlur`` differs with and without AVX2/FMA3; either flipped a few
uint8 values of the v1 exact-GT sets and so their fingerprints. BLAS kernels
(``@``, ``np.dot``, ``np.linalg``), float reductions whose order a SIMD width may
change (``sum``, ``mean``, ``einsum`` over floats) and libm transcendentals
(glibc picks FMA variants at run time) have the same risk.

The rule this module follows, and that any generator of evaluation data should
follow: **only element-wise IEEE operations** ``+ - * /``, ``sqrt``, ``floor``,
``rint``, comparisons, ``min``/``max`` and integer arithmetic, each evaluated in a
fixed order by numpy (no fused multiply-add: numpy never fuses two ufuncs), and
random numbers only from ``Generator.random`` / ``uniform`` / ``integers`` /
``permutation`` (bit manipulation plus one multiply; ``normal`` uses ``exp`` and
``log`` in its tails). Angles and scales are therefore drawn through rational
parametrisations (:func:`rotation`, :func:`ratio`), tone curves are rational
(:func:`bias_curve`) and Gaussian-like noise is a sum of uniforms
(:func:`noise`). Decoding PNG/JPEG files with ``cv2.imread`` is integer code and
was measured to be unchanged with numpy's, OpenCV's and libjpeg-turbo's SIMD
disabled.

Images are float64 ``H×W`` or ``H×W×C`` arrays; coordinates are pixel centres
(``x`` right, ``y`` down).
"""
import hashlib
import os
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'rotation', 'ratio', 'bias_curve', 'noise', 'binomial_blur',
    'antialias_passes', 'bilinear_sample', 'cubic_upsample', 'smooth_field',
    'adjugate3', 'matmul3', 'apply_homography', 'homography_from_corners',
    'similarity', 'ellipse_mask', 'dilate3', 'to_uint8', 'sha1_hex',
    'scalar_cpu_env'
]

SQRT3 = 1.7320508075688772  # sqrt(3), correctly rounded


def rotation(t: float) -> Tuple[float, float]:
    """``(cos θ, sin θ)`` of ``θ = 2·atan(t)``, rationally: exact inputs → same bits.

    Args:
        t (float): ``tan(θ/2)``; ``|t| ≤ 0.0875`` is about ±10°, ``0.1763`` ±20°.

    Returns:
        tuple[float, float]: ``((1 - t²) / (1 + t²), 2t / (1 + t²))``.
    """
    d = 1.0 + t * t
    return (1.0 - t * t) / d, (2.0 * t) / d


def ratio(u: float, max_ratio: float) -> float:
    """A scale factor in ``[1/max_ratio, max_ratio]``, symmetric in log scale.

    ``s = (1 + a) / (1 - a)`` with ``a = (2u - 1)·A``, ``A = (m - 1) / (m + 1)``:
    ``u = 0.5`` gives 1, ``u`` and ``1 - u`` give reciprocal factors.

    Args:
        u (float): Uniform in ``[0, 1)`` (``rng.random()``).
        max_ratio (float): Largest factor ``m ≥ 1``.
    """
    a = (2.0 * u - 1.0) * ((max_ratio - 1.0) / (max_ratio + 1.0))
    return (1.0 + a) / (1.0 - a)


def bias_curve(x: np.ndarray, k: float) -> np.ndarray:
    """Rational gamma-like tone curve on ``[0, 1]``: ``x / (x + k·(1 - x))``.

    Monotone, fixes 0 and 1; ``k = 1`` is the identity, ``k > 1`` darkens the
    mid-tones like a gamma above 1 (``k = 1.25`` ~ gamma 1.17).
    """
    return x / (x + k * (1.0 - x))


def noise(rng: np.random.Generator, shape: Sequence[int], sigma: float) -> np.ndarray:
    """Zero-mean noise of standard deviation ``sigma`` (sum of 4 uniforms).

    ``(u1 + u2 + u3 + u4 - 2)·√3`` has unit variance and a near-Gaussian shape
    (bounded by ±2√3 σ), without ``exp``/``log``.
    """
    u = rng.random((4, ) + tuple(shape))
    return (((u[0] + u[1]) + (u[2] + u[3])) - 2.0) * (SQRT3 * sigma)


def _reflect101(n: int, idx: np.ndarray) -> np.ndarray:
    """Indices folded into ``[0, n)`` like OpenCV's ``BORDER_REFLECT_101``."""
    if n == 1:
        return np.zeros_like(idx)
    if idx.size and idx.min() >= 0 and idx.max() < n:
        return idx
    period = 2 * (n - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def binomial_blur(img: np.ndarray, passes: int) -> np.ndarray:
    """Separable ``[1, 2, 1] / 4`` blur applied ``passes`` times (σ² = passes / 2).

    Args:
        img (np.ndarray): H×W or H×W×C, any numeric dtype (float64 out).
        passes (int): 0 returns a float64 copy.

    Returns:
        np.ndarray: Same shape, float64; borders reflected (``REFLECT_101``).
    """
    out = np.asarray(img, np.float64).copy()
    for axis in (0, 1):
        n = out.shape[axis]
        i = np.arange(n)
        lo, hi = _reflect101(n, i - 1), _reflect101(n, i + 1)
        for _ in range(int(passes)):
            out = ((np.take(out, lo, axis) + np.take(out, hi, axis)) +
                   2.0 * out) * 0.25
    return out


def antialias_passes(scale: float) -> int:
    """:func:`binomial_blur` passes before sampling an image at ``scale`` (< 1 shrinks).

    σ² = (1/scale² - 1) / 4 in source pixels (the Gaussian that takes the
    source's Nyquist limit to the target's), rounded to ``passes / 2``.
    """
    if scale >= 1.0:
        return 0
    return max(0, int(round((1.0 / (scale * scale) - 1.0) * 0.5)))


def bilinear_sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``img`` at ``(x, y)``; borders ``REFLECT_101``.

    Same role as ``cv2.remap(..., INTER_LINEAR, BORDER_REFLECT101)`` but in
    float64 with element-wise operations only (no fixed-point tables, no SIMD
    dispatch): the result depends on the inputs only.

    Args:
        img (np.ndarray): H×W or H×W×C.
        x (np.ndarray): Any shape S, column coordinates (float).
        y (np.ndarray): Shape S, row coordinates.

    Returns:
        np.ndarray: S or S×C, float64.
    """
    img = np.asarray(img, np.float64)
    H, W = img.shape[:2]
    flat = img.reshape(H * W, -1)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    x0f, y0f = np.floor(x), np.floor(y)
    fx, fy = (x - x0f)[..., None], (y - y0f)[..., None]
    x0, y0 = x0f.astype(np.int64), y0f.astype(np.int64)
    xa, xb = _reflect101(W, x0), _reflect101(W, x0 + 1)
    ya, yb = _reflect101(H, y0) * W, _reflect101(H, y0 + 1) * W

    def tap(r, c):
        return np.take(flat, (r + c).ravel(), axis=0).reshape(x.shape + (-1, ))

    top = tap(ya, xa) * (1.0 - fx) + tap(ya, xb) * fx
    bottom = tap(yb, xa) * (1.0 - fx) + tap(yb, xb) * fx
    out = top * (1.0 - fy) + bottom * fy
    return out if img.ndim == 3 else out[..., 0]


def _cubic_weights(t: np.ndarray, a: float = -0.75) -> Tuple[np.ndarray, ...]:
    """Keys cubic weights of the 4 taps at offsets -1, 0, 1, 2 (OpenCV's ``a``)."""
    t2 = t * t
    t3 = t2 * t
    w0 = a * t3 - 2.0 * a * t2 + a * t
    w1 = (a + 2.0) * t3 - (a + 3.0) * t2 + 1.0
    s = 1.0 - t
    s2 = s * s
    w2 = (a + 2.0) * (s2 * s) - (a + 3.0) * s2 + 1.0
    w3 = a * (s2 * s) - 2.0 * a * s2 + a * s
    return w0, w1, w2, w3


def cubic_upsample(coarse: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a coarse grid to ``size`` (like ``cv2.resize(INTER_CUBIC)``).

    Pixel-centre alignment (``src = (dst + 0.5)·in/out - 0.5``), replicated
    border, Keys kernel ``a = -0.75``; float64 element-wise sums in a fixed order.

    Args:
        coarse (np.ndarray): h×w or h×w×C.
        size (tuple[int, int]): ``(H, W)`` of the output.

    Returns:
        np.ndarray: H×W(×C) float64.
    """
    out = np.asarray(coarse, np.float64)
    for axis, n_out in ((0, int(size[0])), (1, int(size[1]))):
        n_in = out.shape[axis]
        pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        base = np.floor(pos)
        w = _cubic_weights(pos - base)
        i0 = base.astype(np.int64)
        acc = None
        for k, wk in zip((-1, 0, 1, 2), w):
            tap = np.take(out, np.clip(i0 + k, 0, n_in - 1), axis)
            shape = [1] * out.ndim
            shape[axis] = n_out
            term = tap * wk.reshape(shape)
            acc = term if acc is None else acc + term
        out = acc
    return out


def smooth_field(rng: np.random.Generator, size: Tuple[int, int],
                 grid: Tuple[int, int], amp: float, channels: int = 2) -> np.ndarray:
    """A smooth random field: uniform values (std ``amp``) on a grid, bicubic-upsampled.

    Returns:
        np.ndarray: H×W×channels float64.
    """
    coarse = rng.uniform(-SQRT3, SQRT3, (grid[0], grid[1], channels)) * amp
    return cubic_upsample(coarse, size)


def adjugate3(m: Sequence[Sequence[float]]) -> np.ndarray:
    """Adjugate of a 3×3 matrix (its inverse up to scale, which homographies ignore)."""
    (a, b, c), (d, e, f), (g, h, i) = [[float(v) for v in row] for row in m]
    return np.array([[e * i - f * h, c * h - b * i, b * f - c * e],
                     [f * g - d * i, a * i - c * g, c * d - a * f],
                     [d * h - e * g, b * g - a * h, a * e - b * d]])


def matmul3(p: Sequence[Sequence[float]], q: Sequence[Sequence[float]]) -> np.ndarray:
    """3×3 product with scalar arithmetic in a fixed order (no BLAS)."""
    p = [[float(v) for v in row] for row in p]
    q = [[float(v) for v in row] for row in q]
    return np.array([[(p[r][0] * q[0][c] + p[r][1] * q[1][c]) + p[r][2] * q[2][c]
                      for c in range(3)] for r in range(3)])


def apply_homography(m: np.ndarray, x: np.ndarray,
                     y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Map points ``(x, y)`` (any shape) through the 3×3 ``m``; float64 out."""
    m = [[float(v) for v in row] for row in np.asarray(m)]
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    w = (m[2][0] * x + m[2][1] * y) + m[2][2]
    return (((m[0][0] * x + m[0][1] * y) + m[0][2]) / w,
            ((m[1][0] * x + m[1][1] * y) + m[1][2]) / w)


def _square_to_quad(q: np.ndarray) -> np.ndarray:
    """Homography of the unit square's corners (0,0),(1,0),(1,1),(0,1) onto ``q``."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = [[float(v) for v in p] for p in q]
    sx = ((x0 - x1) + x2) - x3
    sy = ((y0 - y1) + y2) - y3
    dx1, dx2 = x1 - x2, x3 - x2
    dy1, dy2 = y1 - y2, y3 - y2
    den = dx1 * dy2 - dx2 * dy1
    g = (sx * dy2 - dx2 * sy) / den
    h = (dx1 * sy - sx * dy1) / den
    return np.array([[(x1 - x0) + g * x1, (x3 - x0) + h * x3, x0],
                     [(y1 - y0) + g * y1, (y3 - y0) + h * y3, y0],
                     [g, h, 1.0]])


def homography_from_corners(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The homography taking 4 points ``src`` to ``dst`` (closed form, Heckbert 1989).

    Replaces ``cv2.getPerspectiveTransform`` (an LU solve). Corners in order
    around the quadrilateral.

    Args:
        src (np.ndarray): 4×2.
        dst (np.ndarray): 4×2.

    Returns:
        np.ndarray: 3×3 float64, normalised so that ``m[2, 2] = 1``.
    """
    m = matmul3(_square_to_quad(dst), adjugate3(_square_to_quad(src)))
    return m / m[2, 2]


def similarity(t: float, scale: float, centre: Tuple[float, float],
               shift: Tuple[float, float]) -> np.ndarray:
    """3×3 similarity: rotate by ``2·atan(t)``, scale about ``centre``, then shift.

    Returns:
        np.ndarray: ``M`` with ``M @ [x, y, 1]`` the moved point.
    """
    c, s = rotation(t)
    a, b = scale * c, scale * s
    cx, cy = float(centre[0]), float(centre[1])
    tx = (cx + float(shift[0])) - (a * cx - b * cy)
    ty = (cy + float(shift[1])) - (b * cx + a * cy)
    return np.array([[a, -b, tx], [b, a, ty], [0.0, 0.0, 1.0]])


def ellipse_mask(size: Tuple[int, int], centre: Tuple[float, float],
                 axes: Tuple[float, float], t: float) -> np.ndarray:
    """Filled ellipse at pixel centres, major axes rotated by ``θ = 2·atan(t)``.

    Returns:
        np.ndarray: H×W bool.
    """
    H, W = size
    c, s = rotation(t)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    dx, dy = xs - float(centre[0]), ys - float(centre[1])
    u = (dx * c + dy * s) / float(axes[0])
    v = (dy * c - dx * s) / float(axes[1])
    return u * u + v * v <= 1.0


def dilate3(mask: np.ndarray) -> np.ndarray:
    """Binary dilation by a 3×3 square (border not extended)."""
    m = np.pad(np.asarray(mask, bool), 1)
    H, W = mask.shape
    out = np.zeros((H, W), bool)
    for dy in range(3):
        for dx in range(3):
            out |= m[dy:dy + H, dx:dx + W]
    return out


def to_uint8(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``rint(x·scale)`` clipped to 0..255, as uint8 (round half to even)."""
    return np.clip(np.rint(np.asarray(x, np.float64) * scale), 0, 255).astype(np.uint8)


def sha1_hex(arrays: Iterable[np.ndarray], digits: int = 12) -> str:
    """SHA-1 over the bytes of the arrays (C order), first ``digits`` hex digits."""
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:digits]


#: OpenCV CPU features ``OPENCV_CPU_DISABLE`` turns off (names as OpenCV spells them).
OPENCV_SIMD = ('AVX512-SKX', 'AVX512-COMMON', 'AVX512F', 'AVX512BW', 'AVX512CD',
               'AVX512DQ', 'AVX512VL', 'AVX2', 'FMA3', 'FP16', 'AVX', 'POPCNT',
               'SSE4.2', 'SSE4.1')


def scalar_cpu_env(base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for a subprocess that runs numpy/OpenCV/libjpeg without SIMD.

    Disables every non-baseline CPU feature numpy dispatches on this machine
    (``NPY_DISABLE_CPU_FEATURES``), OpenCV's optimised kernels above SSE3
    (``OPENCV_CPU_DISABLE``), libjpeg-turbo's SIMD (``JSIMD_FORCENONE``) and pins
    OpenBLAS to its oldest x86-64 kernels (``OPENBLAS_CORETYPE=Prescott``).
    Data made by this module's rule must come out bit-identical under it; the
    subprocess should also call ``cv2.setUseOptimized(False)``.

    Args:
        base (dict, optional): Environment to extend (default ``os.environ``).

    Returns:
        dict: The new environment.
    """
    from numpy.core._multiarray_umath import (__cpu_baseline__,
                                              __cpu_features__)
    env = dict(os.environ if base is None else base)
    env['NPY_DISABLE_CPU_FEATURES'] = ' '.join(
        k for k, on in __cpu_features__.items()
        if on and k not in __cpu_baseline__)
    env['OPENCV_CPU_DISABLE'] = ','.join(OPENCV_SIMD)
    env['JSIMD_FORCENONE'] = '1'
    env['OPENBLAS_CORETYPE'] = 'Prescott'
    return env
