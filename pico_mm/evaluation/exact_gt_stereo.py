"""Exact-GT pairs with real parallax: the Middlebury stereo pair of scikit-image.

The scikit-image wheel ships ``motorcycle_left.png``, ``motorcycle_right.png`` and
``motorcycle_disp.npz`` (Middlebury 2014 "Motorcycle", down-sampled 4× to
741×500, rectified; dense ground-truth disparity of the left image from
structured light, ``inf`` where unknown). A left pixel ``(x, y)`` with disparity
``d`` is seen at ``(x - d, y)`` in the right image. A pair is the same window of
both images (scaled and placed as the other kinds' frames), so the motion of a
point is its real disparity: foreground and background move differently and
surfaces are seen from two viewpoints (parallax, real occlusion), which no warp of
one photograph gives.

Points are left-image pixels (integer positions in the photograph, where the
disparity is measured, so ``src`` and ``dst`` are exact but not on the frame's
pixel grid). A point is kept when its disparity is finite, it is visible in the
right image (:func:`right_visible`) and both ends lie inside the frame.

Pure numpy/cv2, element-wise arithmetic only (:mod:`.deterministic_ops`).
"""
import os.path as osp
from functools import lru_cache
from typing import Tuple

import numpy as np

from .exact_gt_photos import (ExactGTError, ExactPair, View, load_photo,
                              photo_dir, photometric)

__all__ = ['STEREO_FILES', 'stereo_scene', 'right_visible', 'make_stereo_pair']

#: Left image, right image, left disparity (files of ``skimage/data``).
STEREO_FILES = ('motorcycle_left.png', 'motorcycle_right.png',
                'motorcycle_disp.npz')


def right_visible(disp: np.ndarray, tol: float = 1.0) -> np.ndarray:
    """Left pixels that the right camera sees.

    A pixel is hidden when its disparity is not finite, when ``x - d`` falls
    outside the right image, or when a nearer pixel of the same row (disparity
    larger by more than ``tol``) lands within one pixel of it in the right image
    (a z-buffer over 1-px bins and their neighbours; errs towards hiding).

    Args:
        disp (np.ndarray): H×W left disparity (``inf``/``nan`` unknown).
        tol (float): Disparity margin in pixels.

    Returns:
        np.ndarray: H×W bool.
    """
    H, W = disp.shape
    finite = np.isfinite(disp)
    d = np.where(finite, disp, 0.0).astype(np.float64)
    xr = np.arange(W, dtype=np.float64)[None] - d
    inside = finite & (xr >= 0) & (xr <= W - 1)
    bins = np.floor(xr + 0.5).astype(np.int64) + 1
    zmax = np.full((H, W + 2), -np.inf)
    rows = np.broadcast_to(np.arange(H)[:, None], (H, W))
    np.maximum.at(zmax, (rows[inside], bins[inside]), d[inside])
    near = np.maximum(np.maximum(zmax[:, :-2], zmax[:, 1:-1]), zmax[:, 2:])
    b = np.clip(bins - 1, 0, W - 1)
    return inside & (near[rows, b] <= d + tol)


@lru_cache(maxsize=1)
def stereo_scene() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(left, right, disparity, visible)`` of the shipped stereo pair.

    Returns:
        tuple: H×W×3 uint8 BGR left and right images, H×W float32 disparity of
        the left image, H×W bool :func:`right_visible`.
    """
    left, right = load_photo(STEREO_FILES[0]), load_photo(STEREO_FILES[1])
    path = osp.join(photo_dir(), STEREO_FILES[2])
    try:
        with np.load(path) as f:
            disp = np.asarray(f['arr_0'], np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise ExactGTError(f'{path}: missing or unreadable ({e}); reinstall '
                           'scikit-image (`bash scripts/setup_env.sh`)') from e
    if disp.shape != left.shape[:2] or right.shape != left.shape:
        raise ExactGTError(f'{path}: disparity {disp.shape} and images '
                           f'{left.shape}, {right.shape} do not match; '
                           'reinstall scikit-image')
    visible = right_visible(disp)
    for a in (disp, visible):
        a.setflags(write=False)
    return left, right, disp, visible


def make_stereo_pair(size: Tuple[int, int], points: int,
                     rng: np.random.Generator, jitter: bool = True) -> ExactPair:
    """One window of the stereo pair: ``A`` from the left image, ``B`` from the right.

    The window's scale is drawn as for the other kinds (the frame covers
    1/1.6–1/2.2 of the image) and its position anywhere in the image (one scene:
    spread the windows).

    Args:
        size (tuple[int, int]): ``(H, W)``.
        points (int): Points to sample (fewer if not enough are visible).
        rng (np.random.Generator): The pair's own generator.
        jitter (bool): Apply :func:`photometric` to both frames.

    Returns:
        ExactPair: ``kind='stereo'``, ``src`` in ``A`` and ``dst = src - (d·scale,
        0)`` in ``B`` (frame coordinates); ``b_to_a`` and ``occluded`` are None.
    """
    H, W = size
    _, _, disp, visible = stereo_scene()
    view = View.random(STEREO_FILES[0], size, rng, spread=(0.0, 1.0))
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    frame_a = view.sample(xs, ys)
    frame_b = view.sample(xs, ys, photo=STEREO_FILES[1])
    if jitter:
        frame_a = photometric(frame_a, rng)
        frame_b = photometric(frame_b, rng)
    yl, xl = np.nonzero(visible)
    sx, sy = view.to_frame(xl, yl)
    tx, _ = view.to_frame(xl - disp[yl, xl].astype(np.float64), yl)
    ok = np.flatnonzero((sx >= 0) & (sx <= W - 1) & (sy >= 0) & (sy <= H - 1) &
                        (tx >= 0) & (tx <= W - 1))
    keep = ok[rng.permutation(len(ok))[:points]]
    src = np.stack([sx[keep], sy[keep]], 1).astype(np.float32)
    dst = np.stack([tx[keep], sy[keep]], 1).astype(np.float32)
    return ExactPair(frame_a=frame_a, frame_b=frame_b, src=src, dst=dst,
                     kind='stereo', photo=STEREO_FILES[0])
