"""Exact correspondences between any two frames of a rendered clip.

A point of frame ``t1`` is located on its layer (inverse map to the layer's
canonical frame), then mapped forward to frame ``t2`` through that layer's pose at
``t2``. It is **visible** at ``t2`` when it falls inside the frame
(``-0.5 <= x < W - 0.5``, same for y) and no nearer layer covers it there
(the nearest layer at that exact point is its own layer; a limb hidden by its own
body counts as occluded). Positions are exact up to float64 rounding (the maps are
inverted analytically; the round trip ``t1 -> t2 -> t1`` is below 1e-9 px).

This is the oracle API (e.g. for ``tools/analysis/pair_homography.py`` and the
PiCo-oracle arm)::

    from pico_mm.demo.render import render_clip, exact_correspondences
    clip = render_clip('val', 0)
    c = exact_correspondences(clip.scene, 3, 40)          # every pixel of frame 3
    src, dst = c.src[c.visible], c.dst[c.visible]         # N×2 (x, y) each
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .scene import Scene, layer_to_frame, locate, pixel_grid

__all__ = ['Correspondences', 'exact_correspondences', 'track_points']


@dataclass
class Correspondences:
    """Points of frame ``t1`` and where they are in frame ``t2``.

    Attributes:
        src (np.ndarray): N×2 float64 ``(x, y)`` points in frame ``t1``.
        dst (np.ndarray): N×2 float64 positions in frame ``t2`` (also when hidden).
        visible (np.ndarray): N bool: visible at ``t2`` (in frame, not occluded).
        layer (np.ndarray): N int16 layer of each point (0 = background).
        obj_id (np.ndarray): N uint8 instance id (0 = background).
    """
    src: np.ndarray
    dst: np.ndarray
    visible: np.ndarray
    layer: np.ndarray
    obj_id: np.ndarray


def _in_frame(scene: Scene, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < scene.width - 0.5) & (y >= -0.5) &
            (y < scene.height - 0.5))


def exact_correspondences(scene: Scene, t1: int, t2: int,
                          points: Optional[np.ndarray] = None) -> Correspondences:
    """Exact correspondences from frame ``t1`` to frame ``t2`` of a rendered clip.

    Args:
        scene (Scene): ``RenderedClip.scene``.
        t1 (int): Source frame.
        t2 (int): Target frame (any, earlier or later).
        points (np.ndarray, optional): N×2 ``(x, y)`` source points inside frame
            ``t1``; default every pixel centre, row-major.

    Returns:
        Correspondences: ``src``, ``dst``, ``visible``, ``layer``, ``obj_id``.
    """
    if points is None:
        x, y = (g.reshape(-1) for g in pixel_grid(scene.height, scene.width))
    else:
        points = np.asarray(points, np.float64).reshape(-1, 2)
        x, y = points[:, 0], points[:, 1]
    layer, u, v = locate(scene, t1, x, y)
    dx, dy = np.empty_like(x), np.empty_like(y)
    for index in np.unique(layer):
        sel = layer == index
        dx[sel], dy[sel] = layer_to_frame(scene, int(index), t2, u[sel], v[sel])
    top, _, _ = locate(scene, t2, dx, dy)
    visible = _in_frame(scene, dx, dy) & (top == layer)
    ids = np.array([lay.obj_id for lay in scene.layers], np.uint8)
    return Correspondences(np.stack([x, y], 1), np.stack([dx, dy], 1), visible,
                           layer, ids[layer])


def track_points(scene: Scene, t0: int, points: np.ndarray):
    """Positions and visibility of frame-``t0`` points in every frame.

    Args:
        scene (Scene): The clip's scene.
        t0 (int): Query frame.
        points (np.ndarray): N×2 ``(x, y)`` points of frame ``t0``.

    Returns:
        tuple: ``(tracks, visible, obj_id)``: float32 N×T×2, bool N×T, uint8 N.
    """
    tracks, visible = [], []
    for t in range(scene.num_frames):
        c = exact_correspondences(scene, t0, t, points)
        tracks.append(c.dst)
        visible.append(c.visible)
    return (np.stack(tracks, 1).astype(np.float32), np.stack(visible, 1),
            c.obj_id)
