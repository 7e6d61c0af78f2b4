"""Scenes of the clip renderer: a camera, a background and layered, moving objects.

A scene is a list of :class:`Layer` from far to near. Layer 0 is the background
(a photograph seen by a panning and zooming camera); the others belong to foreground
objects (instance ids ``1..N``). An object is one layer (rigid, or non-rigidly
deformed by a :class:`~.geometry.Shear`) or an articulated body of 2–3 rigid layers:
a body and limbs rotating about joints fixed on it. Every layer has a canonical
coordinate frame, a shape there (ellipse, rectangle or limb) and a texture.

Frames are rendered by inverse mapping: every pixel centre is mapped to every
layer's canonical frame; the nearest layer whose shape contains it is shown, its
texture looked up with nearest-neighbour (``floor(u + 0.5)``). The same
:func:`locate` answers for any real-valued point, which gives exact visibility.
All arithmetic is float64 ``+ - * /``, integer arithmetic or index lookups
(see :mod:`.geometry`).
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .geometry import Camera, Poly, Shear, Similarity

__all__ = ['Layer', 'Scene', 'locate', 'layer_to_frame', 'frame_to_layer',
           'render_frame']

Array = np.ndarray
ZERO = Poly((0.0, ))


@dataclass
class Layer:
    """One textured layer.

    Args:
        obj_id (int): Instance id (0 = background).
        texture (np.ndarray): uint8 h×w×3 BGR; canonical ``(u, v)`` shows texel
            ``[floor(v + .5) + h // 2, floor(u + .5) + w // 2]`` (the background:
            ``[floor(v + .5), floor(u + .5)]``, mirrored at the borders).
        shape (str): ``'full'`` (background), ``'ellipse'``, ``'rect'``
            (``|u| <= a, |v| <= b``) or ``'limb'`` (``u`` between 0 and ``a``,
            ``|v| <= b``).
        a (float): Half-axis along ``u`` (limb: signed length).
        b (float): Half-axis along ``v``.
        rot (Poly): ``tan(angle / 2)`` over time (limb: about its joint).
        scale (Poly): Scale over time (limbs: unused, 1).
        tx (Poly): World x of the canonical origin (limb: joint x on the parent).
        ty (Poly): World y (limb: joint y on the parent).
        shear_a (Poly): Deformation amplitudes (0 = rigid), see :class:`Shear`.
        shear_b (Poly): Second deformation amplitude.
        parent (int): Index of the parent layer (limbs), -1 otherwise.
    """
    obj_id: int
    texture: np.ndarray
    shape: str
    a: float = 0.0
    b: float = 0.0
    rot: Poly = ZERO
    scale: Poly = Poly((1.0, ))
    tx: Poly = ZERO
    ty: Poly = ZERO
    shear_a: Poly = ZERO
    shear_b: Poly = ZERO
    parent: int = -1


@dataclass
class Scene:
    """A clip's full description: size, camera path and layers (far to near).

    Args:
        height (int): Frame height.
        width (int): Frame width.
        num_frames (int): Number of frames ``T``.
        cam_x (Poly): World x of the frame's top-left pixel over time.
        cam_y (Poly): World y of it.
        cam_z (Poly): Zoom: world pixels per frame pixel.
        layers (list[Layer]): Layer 0 is the background.
    """
    height: int
    width: int
    num_frames: int
    cam_x: Poly
    cam_y: Poly
    cam_z: Poly
    layers: List[Layer]

    def tau(self, t: int) -> float:
        """Normalised time of frame ``t`` (0 at the first frame, 1 at the last)."""
        return t / max(self.num_frames - 1, 1)

    def camera(self, t: int) -> Camera:
        """The camera of frame ``t``."""
        tau = self.tau(t)
        return Camera(self.cam_x(tau), self.cam_y(tau), self.cam_z(tau))

    @property
    def num_objects(self) -> int:
        """Largest instance id."""
        return max(layer.obj_id for layer in self.layers)


def _pose(layer: Layer, tau: float) -> Tuple[Similarity, Optional[Shear]]:
    if layer.parent >= 0:
        return Similarity(layer.rot(tau), 1.0, layer.tx(tau), layer.ty(tau)), None
    sim = Similarity(layer.rot(tau), layer.scale(tau), layer.tx(tau), layer.ty(tau))
    sa, sb = layer.shear_a(tau), layer.shear_b(tau)
    shear = Shear(sa, sb, max(layer.a, layer.b)) if (sa or sb) else None
    return sim, shear


def layer_to_frame(scene: Scene, index: int, t: int, u: Array,
                   v: Array) -> Tuple[Array, Array]:
    """Canonical points of layer ``index`` to frame ``t`` pixel coordinates.

    Args:
        scene (Scene): The scene.
        index (int): Layer index.
        t (int): Frame index.
        u (np.ndarray): float64 canonical x (any shape).
        v (np.ndarray): float64 canonical y (same shape).

    Returns:
        tuple[np.ndarray, np.ndarray]: frame ``(x, y)``, same shape.
    """
    layer, tau = scene.layers[index], scene.tau(t)
    if index > 0:
        sim, shear = _pose(layer, tau)
        if shear is not None:
            u, v = shear.forward(u, v)
        u, v = sim.forward(u, v)
        if layer.parent >= 0:
            return layer_to_frame(scene, layer.parent, t, u, v)
    return scene.camera(t).to_frame(u, v)


def frame_to_layer(scene: Scene, index: int, t: int, x: Array,
                   y: Array) -> Tuple[Array, Array]:
    """Inverse of :func:`layer_to_frame`: frame-``t`` points to canonical ``(u, v)``."""
    layer, tau = scene.layers[index], scene.tau(t)
    if index == 0:
        return scene.camera(t).to_world(x, y)
    if layer.parent >= 0:
        x, y = frame_to_layer(scene, layer.parent, t, x, y)
    else:
        x, y = scene.camera(t).to_world(x, y)
    sim, shear = _pose(layer, tau)
    u, v = sim.inverse(x, y)
    if shear is not None:
        u, v = shear.inverse(u, v)
    return u, v


def _inside(layer: Layer, u: Array, v: Array) -> Array:
    if layer.shape == 'full':
        return np.ones(np.shape(u), bool)
    a, b = layer.a, layer.b
    if layer.shape == 'ellipse':
        return u * u * (b * b) + v * v * (a * a) <= (a * a) * (b * b)
    if layer.shape == 'rect':
        return (np.abs(u) <= a) & (np.abs(v) <= b)
    if layer.shape == 'limb':
        return (u * a >= 0.0) & (np.abs(u) <= abs(a)) & (np.abs(v) <= b)
    raise ValueError(f'unknown layer shape {layer.shape!r}')


def locate(scene: Scene, t: int, x: Array, y: Array) -> Tuple[Array, Array, Array]:
    """The nearest layer at frame-``t`` points and their canonical coordinates.

    Args:
        scene (Scene): The scene.
        t (int): Frame index.
        x (np.ndarray): float64 frame x (any shape; need not be integers).
        y (np.ndarray): float64 frame y.

    Returns:
        tuple: ``(layer, u, v)``: int16 index of the nearest layer covering each
        point (0 = background) and float64 canonical coordinates in it.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    top = np.zeros(x.shape, np.int16)
    uu, vv = frame_to_layer(scene, 0, t, x, y)
    for index in range(1, len(scene.layers)):
        u, v = frame_to_layer(scene, index, t, x, y)
        hit = _inside(scene.layers[index], u, v)
        top[hit] = index
        uu = np.where(hit, u, uu)
        vv = np.where(hit, v, vv)
    return top, uu, vv


def _texel(layer: Layer, u: Array, v: Array, background: bool) -> Array:
    h, w = layer.texture.shape[:2]
    col = np.floor(u + 0.5).astype(np.int64)
    row = np.floor(v + 0.5).astype(np.int64)
    if background:  # mirror at the borders (period 2n)
        col, row = col % (2 * w), row % (2 * h)
        col = np.where(col >= w, 2 * w - 1 - col, col)
        row = np.where(row >= h, 2 * h - 1 - row, row)
    else:
        col = np.clip(col + w // 2, 0, w - 1)
        row = np.clip(row + h // 2, 0, h - 1)
    return layer.texture[row, col]


def pixel_grid(height: int, width: int) -> Tuple[Array, Array]:
    """float64 ``(x, y)`` of every pixel centre, H×W each."""
    y, x = np.mgrid[0:height, 0:width]
    return x.astype(np.float64), y.astype(np.float64)


def render_frame(scene: Scene, t: int) -> Tuple[Array, Array, Array]:
    """Render frame ``t``.

    Returns:
        tuple: ``(image, layer, mask)``: uint8 H×W×3 BGR, int16 H×W index of the
        layer shown at each pixel, uint8 H×W instance ids (0 = background).
    """
    x, y = pixel_grid(scene.height, scene.width)
    top, u, v = locate(scene, t, x, y)
    image = np.zeros((scene.height, scene.width, 3), np.uint8)
    ids = np.array([layer.obj_id for layer in scene.layers], np.uint8)
    for index, layer in enumerate(scene.layers):
        sel = top == index
        if sel.any():
            image[sel] = _texel(layer, u[sel], v[sel], index == 0)
    return image, top, ids[top]
