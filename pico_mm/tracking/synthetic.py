"""Synthetic videos with exact ground-truth flow (tests, benchmark, demos).

* ``affine_video``: a textured image under a per-frame affine motion
  (translation, rotation, zoom about the image centre); forward and backward
  flow are exact (an affine field is reproduced exactly by bilinear
  interpolation, so GT-driven tracks are exact up to float rounding).
* ``occlusion_video``: a textured square sliding over a static textured
  background, with the occluded pixels' backward flow pointing to the square.
"""
from typing import List, Tuple

import cv2
import numpy as np


def textured_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture with details at several scales.

    Args:
        height (int): H.
        width (int): W.
        seed (int): Random seed.

    Returns:
        np.ndarray: H×W×3 uint8 BGR image.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for cell in (4, 9, 23):
        small = rng.uniform(0, 1, (height // cell + 2, width // cell + 2, 3))
        img += cv2.resize(small.astype(np.float32), (width, height),
                          interpolation=cv2.INTER_CUBIC)
    img -= img.min()
    img /= max(float(img.max()), 1e-6)
    return (img * 255).astype(np.uint8)


def motion_matrix(shift: Tuple[float, float] = (0.0, 0.0),
                  angle_deg: float = 0.0, scale: float = 1.0,
                  centre: Tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3×3 affine map ``p -> A p``: rotate/zoom about ``centre`` then shift.

    Args:
        shift (tuple[float, float]): ``(dx, dy)`` in px per frame.
        angle_deg (float): Rotation per frame (counter-clockwise on screen
            for positive angles in OpenCV's convention).
        scale (float): Zoom factor per frame.
        centre (tuple[float, float]): ``(x, y)`` fixed point of rotation/zoom.

    Returns:
        np.ndarray: 3×3 float64 matrix.
    """
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D(centre, angle_deg, scale)
    m[0, 2] += shift[0]
    m[1, 2] += shift[1]
    return m


def _field(m: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flow ``A p - p`` at every pixel centre, H×W×2 float32."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    u = m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs
    v = m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys
    return np.stack([u, v], -1).astype(np.float32)


def affine_video(image: np.ndarray, steps, num_frames: int):
    """Render ``image`` under a known per-frame affine motion.

    Frame ``t`` shows ``image`` mapped by ``steps[t-1] @ ... @ steps[0]``.

    Args:
        image (np.ndarray): H×W×3 uint8 texture.
        steps (np.ndarray | list[np.ndarray]): one 3×3 motion
            ``p_{t+1} = step @ p_t`` used for every frame, or a list of T-1
            per-frame matrices (e.g. a varying velocity).
        num_frames (int): T.

    Returns:
        tuple: ``frames`` (list of T H×W×3 uint8), ``fwd`` and ``bwd`` (lists
        of T-1 H×W×2 float32 exact flows), ``maps`` (list of T 3×3 matrices,
        frame 0 → frame t).
    """
    h, w = image.shape[:2]
    if isinstance(steps, np.ndarray) and steps.ndim == 2:
        steps = [steps] * (num_frames - 1)
    if len(steps) != num_frames - 1:
        raise ValueError(f'need {num_frames - 1} steps, got {len(steps)}')
    maps = [np.eye(3)]
    for step in steps:
        maps.append(step @ maps[-1])
    frames = [
        cv2.warpAffine(image, m[:2], (w, h), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT) for m in maps
    ]
    cache = {}
    fwd, bwd = [], []
    for step in steps:
        key = step.tobytes()
        if key not in cache:
            cache[key] = (_field(step, h, w),
                          _field(np.linalg.inv(step), h, w))
        fwd.append(cache[key][0])
        bwd.append(cache[key][1])
    return frames, fwd, bwd, maps


def apply_map(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Apply a 3×3 affine map to N×2 points; returns N×2 float64."""
    xy = np.asarray(xy, dtype=np.float64)
    return xy @ m[:2, :2].T + m[:2, 2]


def occlusion_video(height: int, width: int, num_frames: int,
                    square: int, x0: int, y0: int, speed: int,
                    seed: int = 0):
    """A textured square sliding right by ``speed`` px/frame over a background.

    The square covers rows ``y0 .. y0+square-1`` and columns
    ``x0 + t*speed .. x0 + t*speed + square - 1`` on frame ``t``.

    Args:
        height (int): H.
        width (int): W.
        num_frames (int): T.
        square (int): Side of the square in px.
        x0 (int): Left column of the square on frame 0.
        y0 (int): Top row of the square.
        speed (int): Integer px per frame (exact flow, no resampling).
        seed (int): Texture seed.

    Returns:
        tuple: ``frames`` (T H×W×3 uint8), ``fwd``/``bwd`` (T-1 H×W×2 float32
        ground-truth flows; background 0, square ``(+speed, 0)`` forward and
        ``(-speed, 0)`` backward where the square is on the target frame),
        ``covered`` (T H×W bool masks of the square).
    """
    bg = textured_image(height, width, seed)
    fg = textured_image(square, square, seed + 1)
    frames: List[np.ndarray] = []
    covered: List[np.ndarray] = []
    for t in range(num_frames):
        img = bg.copy()
        mask = np.zeros((height, width), bool)
        left = x0 + t * speed
        lo, hi = max(left, 0), min(left + square, width)
        if hi > lo:
            img[y0:y0 + square, lo:hi] = fg[:, lo - left:hi - left]
            mask[y0:y0 + square, lo:hi] = True
        frames.append(img)
        covered.append(mask)
    fwd, bwd = [], []
    for t in range(num_frames - 1):
        f = np.zeros((height, width, 2), np.float32)
        f[covered[t], 0] = speed
        b = np.zeros((height, width, 2), np.float32)
        b[covered[t + 1], 0] = -speed
        fwd.append(f)
        bwd.append(b)
    return frames, fwd, bwd, covered
