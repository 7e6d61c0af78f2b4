"""Exact point-coordinate maps for the geometric view transforms (pure numpy).

Coordinates follow ``docs/contracts.md``: float ``(x, y)`` in pixel-index
coordinates, the centre of pixel ``img[r, c]`` is ``(x=c, y=r)``; pixel ``c``
covers ``[c - 0.5, c + 0.5]``, so an image of width W spans the closed range
``[-0.5, W - 0.5]`` (closed so that a flip maps the image extent onto
itself; ``grid_sample(align_corners=False)`` reaches exactly ±1 there). Points that leave the image are set to NaN (not
removed) so that two point arrays of a pair stay aligned; the view wrapper
(:class:`CorrespondenceViews`) drops every pair with a NaN in either view.
"""
import numpy as np

__all__ = [
    'as_points', 'crop_points', 'resize_points', 'flip_points',
    'mark_outside', 'valid_pairs'
]


def as_points(points) -> np.ndarray:
    """Return ``points`` as a float32 M×2 array (an empty input gives 0×2)."""
    pts = np.asarray(points, dtype=np.float32)
    if pts.size == 0:
        return np.zeros((0, 2), np.float32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f'points must be M×2 (x, y), got shape {pts.shape}')
    return pts


def mark_outside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Set points outside a ``width``×``height`` image to NaN (in place).

    Args:
        points (np.ndarray): M×2 float32 (x, y).
        width (int): Image width W.
        height (int): Image height H.

    Returns:
        np.ndarray: the same M×2 array; rows outside ``[-0.5, W-0.5] ×
        [-0.5, H-0.5]`` are NaN.
    """
    x, y = points[:, 0], points[:, 1]
    out = ~((x >= -0.5) & (x <= width - 0.5) & (y >= -0.5)
            & (y <= height - 0.5))
    points[out] = np.nan
    return points


def crop_points(points, x0: int, y0: int, width: int,
                height: int) -> np.ndarray:
    """Map points into the crop ``img[y0:y0+height, x0:x0+width]``.

    Args:
        points: M×2 (x, y) in the source image.
        x0 (int): Left column of the crop.
        y0 (int): Top row of the crop.
        width (int): Crop width.
        height (int): Crop height.

    Returns:
        np.ndarray: M×2 float32 points in the crop, NaN where outside it.
    """
    pts = as_points(points).copy()
    pts[:, 0] -= x0
    pts[:, 1] -= y0
    return mark_outside(pts, width, height)


def resize_points(points, src_size, dst_size) -> np.ndarray:
    """Map points through a resize ``src_size -> dst_size`` (both (w, h)).

    Matches ``cv2.resize``/``mmcv.imresize`` and ``F.interpolate(...,
    align_corners=False)``, which put source and destination pixel centres on a
    half-pixel grid: ``x' = (x + 0.5) * W'/W - 0.5``.

    Args:
        points: M×2 (x, y) in the source image.
        src_size (tuple[int, int]): Source (w, h).
        dst_size (tuple[int, int]): Destination (w, h).

    Returns:
        np.ndarray: M×2 float32 points in the resized image.
    """
    src = as_points(points).astype(np.float64)
    out = np.empty_like(src)
    for axis in (0, 1):
        scale = dst_size[axis] / float(src_size[axis])
        out[:, axis] = (src[:, axis] + 0.5) * scale - 0.5
        # the image extent maps onto the image extent; keep float rounding
        # from pushing an edge point (e.g. x = w - 0.5) just outside it
        inside = (src[:, axis] >= -0.5) & (src[:, axis] <= src_size[axis] -
                                           0.5)
        out[inside, axis] = np.clip(out[inside, axis], -0.5,
                                    dst_size[axis] - 0.5)
    return out.astype(np.float32)


def flip_points(points, width: int, height: int,
                direction: str = 'horizontal') -> np.ndarray:
    """Map points through an image flip (``np.flip`` / ``mmcv.imflip``).

    Args:
        points: M×2 (x, y).
        width (int): Image width W.
        height (int): Image height H.
        direction (str): 'horizontal' (x -> W-1-x), 'vertical' (y -> H-1-y) or
            'diagonal' (both).

    Returns:
        np.ndarray: M×2 float32 flipped points.
    """
    pts = as_points(points).copy()
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f'unknown flip direction {direction!r}')
    if direction in ('horizontal', 'diagonal'):
        pts[:, 0] = (width - 1) - pts[:, 0]
    if direction in ('vertical', 'diagonal'):
        pts[:, 1] = (height - 1) - pts[:, 1]
    return pts


def valid_pairs(points1: np.ndarray, points2: np.ndarray) -> np.ndarray:
    """Boolean M mask of pairs finite in both views."""
    return np.isfinite(points1).all(1) & np.isfinite(points2).all(1)
