"""Exact-GT pairs of the warp kinds: one photograph under a known map.

* ``rigid``: a homography (rotation ±20°, zoom 0.8–1.25×, translation ±12 % of the
  frame, mild perspective: corners jittered by up to 4 %).
* ``nonrigid``: a milder similarity (±8°, 0.91–1.1×, ±8 %) plus a smooth random
  deformation field (two scales of bicubic-interpolated random displacements,
  Jacobian capped so the warp never folds) and 1–3 local occluders (ellipses cut
  from another photograph of the same split); points under an occluder are not
  scored.

Angles are drawn as ``t = tan(θ/2)`` (uniform) and zooms as rational ratios, so
no transcendental function is evaluated (:mod:`.deterministic_ops`).

Pure numpy.
"""
from typing import Sequence, Tuple

import numpy as np

from . import deterministic_ops as D
from .exact_gt_photos import ExactPair, View, load_photo, photometric

__all__ = ['make_warp_pair', 'rigid_map', 'nonrigid_map']

#: tan(10°), tan(4°): half-angle bounds of ±20° and ±8° rotations.
TAN_10DEG = 0.17632698070846498
TAN_4DEG = 0.06992681194351041


def _grid(size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size[0], 0:size[1]]
    return xs.astype(np.float64), ys.astype(np.float64)


def _similarity(rng, size, max_tan, zoom, max_shift) -> np.ndarray:
    """3×3 similarity about the frame centre (maps A points to B points)."""
    H, W = size
    t = rng.uniform(-max_tan, max_tan)
    s = D.ratio(rng.random(), zoom)
    shift = rng.uniform(-max_shift, max_shift, 2) * np.array([W, H])
    return D.similarity(t, s, ((W - 1) / 2, (H - 1) / 2), shift)


def rigid_map(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """``b_to_a`` (H×W×2 float64) of a random mild homography."""
    H, W = size
    S = _similarity(rng, size, TAN_10DEG, 1.25, 0.12)
    corners = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float64)
    mx, my = D.apply_homography(S, corners[:, 0], corners[:, 1])
    moved = np.stack([mx, my], 1) + rng.uniform(-1, 1, (4, 2)) * (
        0.04 * np.array([W, H]))
    xs, ys = _grid(size)
    return np.stack(D.apply_homography(D.homography_from_corners(moved, corners),
                                       xs, ys), -1)


def nonrigid_map(rng: np.random.Generator, size: Tuple[int, int],
                 max_jacobian: float = 0.3) -> np.ndarray:
    """``b_to_a`` (H×W×2 float64) of a mild similarity plus a smooth deformation."""
    H, W = size
    S = _similarity(rng, size, TAN_4DEG, 1.1, 0.08)
    xs, ys = _grid(size)
    base = np.stack(D.apply_homography(D.adjugate3(S), xs, ys), -1)
    m = min(H, W)
    u = (D.smooth_field(rng, size, (3, 4), 0.07 * m) +
         D.smooth_field(rng, size, (5, 7), 0.025 * m))
    # A Jacobian with Frobenius norm below 1 keeps y -> S^-1(y) + u(y)
    # one-to-one (no folds, no self-occlusion); np.gradient is element-wise.
    dy, dx = np.gradient(u[..., 0])
    ey, ex = np.gradient(u[..., 1])
    jac = float(np.sqrt(((dx * dx + dy * dy) + ex * ex) + ey * ey).max())
    if jac > max_jacobian:
        u = u * (max_jacobian / jac)
    return base + u


def _occluders(rng, frame, others: Sequence[str], size) -> np.ndarray:
    """Paste 1-3 ellipses cut from other photographs into ``frame``; bool mask."""
    H, W = size
    mask = np.zeros((H, W), bool)
    xs, ys = _grid(size)
    for _ in range(int(rng.integers(1, 4))):
        name = others[int(rng.integers(len(others)))]
        oh, ow = load_photo(name).shape[:2]
        # the photograph at half size, a random H x W window of it
        ox = int(rng.integers(0, max(1, ow // 2 - W)))
        oy = int(rng.integers(0, max(1, oh // 2 - H)))
        patch = View(name, 0.5, ox, oy).sample(xs, ys)
        centre = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        axes = (int(W * rng.uniform(0.08, 0.18)) + 1,
                int(H * rng.uniform(0.08, 0.18)) + 1)
        m = D.ellipse_mask(size, centre, axes, rng.uniform(-1.0, 1.0))
        frame[m] = patch[m]
        mask |= m
    return mask


def make_warp_pair(photo: str, kind: str, size: Tuple[int, int], points: int,
                   rng: np.random.Generator, others: Sequence[str],
                   jitter: bool = True) -> ExactPair:
    """One ``rigid`` or ``nonrigid`` pair of ``photo``.

    Args:
        photo (str): File name in ``skimage/data``.
        kind (str): ``'rigid'`` or ``'nonrigid'``.
        size (tuple[int, int]): ``(H, W)``.
        points (int): Points to sample (fewer if not enough are visible).
        rng (np.random.Generator): The pair's own generator.
        others (Sequence[str]): Photographs the occluders are cut from.
        jitter (bool): Apply :func:`photometric` to both frames (tests turn it
            off to compare pixels).

    Returns:
        ExactPair: Points at integer pixels of ``B`` (``dst``) and their exact
        source ``src = b_to_a[dst]`` in ``A``.
    """
    H, W = size
    view = View.random(photo, size, rng)
    xs, ys = _grid(size)
    frame_a = view.sample(xs, ys)
    b_to_a = rigid_map(rng, size) if kind == 'rigid' else nonrigid_map(rng, size)
    frame_b = view.sample(b_to_a[..., 0], b_to_a[..., 1])
    occluded = np.zeros((H, W), bool)
    if kind == 'nonrigid':
        occluded = D.dilate3(_occluders(rng, frame_b, others, size))
    if jitter:
        frame_a = photometric(frame_a, rng)
        frame_b = photometric(frame_b, rng)
    b_to_a = b_to_a.astype(np.float32)
    cand = rng.permutation(H * W)
    yi, xi = cand // W, cand % W
    src = b_to_a[yi, xi]
    ok = (~occluded[yi, xi] & (src[:, 0] >= 0) & (src[:, 0] <= W - 1) &
          (src[:, 1] >= 0) & (src[:, 1] <= H - 1))
    keep = np.flatnonzero(ok)[:points]
    dst = np.stack([xi[keep], yi[keep]], 1).astype(np.float32)
    return ExactPair(frame_a=np.ascontiguousarray(frame_a), frame_b=frame_b,
                     src=src[keep], dst=dst, kind=kind, photo=photo,
                     b_to_a=b_to_a, occluded=occluded)
