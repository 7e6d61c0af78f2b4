"""Random scenes for the clip renderer, from a seed and a split's photographs.

A clip has a background photograph seen by a camera that pans (up to ±15 % of the
frame) and zooms (0.85–1.15×) along smooth polynomial paths, and ``num_objects``
foreground objects, textured with crops of the split's photographs or LFW faces and
tinted:

* one **deformable** object (ellipse, non-rigid: two quadratic shears whose
  amplitudes change over the clip, plus rotation, scale and translation);
* one **articulated** object (an ellipse body with one or two rigid limbs rotating
  about joints on it by up to ±60°);
* the others rigid (ellipse or rectangle; rotate, scale, translate);
* the nearest object **sweeps across** the whole frame, so the others leave and
  re-enter occlusion; objects may also leave the frame and come back.

Random numbers are drawn with ``rng.uniform`` / ``rng.integers`` only (exact
float64 ``a + (b - a) * u`` from PCG64 integers), so a seed gives the same scene on
every machine.
"""
from typing import List

import numpy as np

from .geometry import Poly
from .scene import Layer, Scene
from .textures import FACES, TEXTURES, box_down, load_face, load_texture, tint

__all__ = ['sample_scene']


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _path(rng, start: float, end: float, wobble: float) -> Poly:
    """``start + (end - start) tau + w tau (1 - tau)``, ``|w| <= wobble``."""
    w = _u(rng, -wobble, wobble)
    return Poly((start, end - start + w, -w))


def _swing(rng, amp: float) -> Poly:
    """The quadratic through ``a0`` (tau 0), ``mid`` (1/2), ``a1`` (1), all in ±amp."""
    a0, a1 = _u(rng, -amp, amp), _u(rng, -amp, amp)
    mid = _u(rng, -amp, amp)
    c2 = 2.0 * (a0 + a1) - 4.0 * mid
    return Poly((a0, a1 - a0 - c2, c2))


def _object_texture(rng, split: str, half_w: int, half_h: int) -> np.ndarray:
    """A tinted crop (or a face) of the split's photographs, (2h+1)×(2w+1)×3."""
    h, w = 2 * half_h + 1, 2 * half_w + 1
    photos = TEXTURES[split]
    pick = int(rng.integers(0, len(photos) + 1))
    if pick == len(photos):
        lo, hi = FACES[split]
        face = load_face(int(rng.integers(lo, hi)))
        reps = max(-(-h // face.shape[0]), -(-w // face.shape[1]))
        big = np.repeat(np.repeat(face, reps, axis=0), reps, axis=1)
        tex = big[:h, :w]
    else:
        name, gain = photos[pick]
        img = box_down(load_texture(name, gain), int(rng.integers(1, 3)))
        img = np.tile(img, (-(-h // img.shape[0]), -(-w // img.shape[1]), 1))
        y0 = int(rng.integers(0, img.shape[0] - h + 1))
        x0 = int(rng.integers(0, img.shape[1] - w + 1))
        tex = img[y0:y0 + h, x0:x0 + w]
    gains = rng.integers(96, 257, 3)
    bias = rng.integers(0, 96, 3)
    return tint(tex, gains, bias)


def _background(rng, split: str, scene_h: int, scene_w: int) -> np.ndarray:
    name, gain = TEXTURES[split][int(rng.integers(0, len(TEXTURES[split])))]
    img = load_texture(name, gain)
    need = 1.5 * max(scene_h, scene_w)
    factor = max(1, int(min(img.shape[:2]) // need))
    img = box_down(img, int(rng.integers(1, factor + 1)))
    return tint(img, rng.integers(160, 257, 3), rng.integers(0, 48, 3))


def sample_scene(seed_seq, split: str, height: int, width: int, num_frames: int,
                 num_objects: int = 3) -> Scene:
    """Draw a scene.

    Args:
        seed_seq: Seed of ``np.random.default_rng`` (an int or a list of ints).
        split (str): ``'train'``, ``'val'`` or ``'test'`` (chooses the textures).
        height (int): Frame height.
        width (int): Frame width.
        num_frames (int): Clip length.
        num_objects (int): Foreground objects (>= 2: one deformable, one
            articulated, the rest rigid).

    Returns:
        Scene: The scene (layers far to near).
    """
    if split not in TEXTURES:
        raise ValueError(f'split {split!r}: use one of {sorted(TEXTURES)}')
    if num_objects < 2:
        raise ValueError('num_objects must be >= 2 (one deformable, one articulated)')
    rng = np.random.default_rng(seed_seq)
    H, W = float(height), float(width)
    bg = _background(rng, split, height, width)
    pan = 0.15 * W
    zoom = _swing(rng, 0.15)
    cam_z = Poly((1.0 + zoom.coef[0], ) + zoom.coef[1:])
    cx, cy = _path(rng, 0.0, _u(rng, -pan, pan), pan / 2), _path(
        rng, 0.0, _u(rng, -pan / 2, pan / 2), pan / 4)
    # Zoom about the frame centre: top-left = centre - z * (W/2, H/2).
    ox0, oy0 = _u(rng, 0, max(bg.shape[1] - 1.3 * W, 1)), _u(
        rng, 0, max(bg.shape[0] - 1.3 * H, 1))
    cam_x = Poly((ox0 + cx.coef[0] + W / 2 - cam_z.coef[0] * W / 2,
                  cx.coef[1] - cam_z.coef[1] * W / 2,
                  cx.coef[2] - cam_z.coef[2] * W / 2))
    cam_y = Poly((oy0 + cy.coef[0] + H / 2 - cam_z.coef[0] * H / 2,
                  cy.coef[1] - cam_z.coef[1] * H / 2,
                  cy.coef[2] - cam_z.coef[2] * H / 2))
    scene = Scene(height, width, num_frames, cam_x, cam_y, cam_z,
                  [Layer(0, bg, 'full')])
    kinds = ['deform', 'articulated'] + ['rigid'] * (num_objects - 2)
    order = rng.permutation(num_objects)
    for depth in range(num_objects):
        kind = kinds[int(order[depth])]
        _add_object(rng, scene, split, depth + 1, kind,
                    sweep=depth == num_objects - 1)
    return scene


def _add_object(rng, scene: Scene, split: str, obj_id: int, kind: str,
                sweep: bool) -> None:
    """Append the layers of one object (its body first, then its limbs)."""
    H, W = float(scene.height), float(scene.width)
    # World position ~ frame position at the first frame (camera origin aside).
    ox, oy = scene.cam_x(0.0), scene.cam_y(0.0)
    a = float(int(_u(rng, 0.09, 0.16) * W))
    b = float(int(_u(rng, 0.14, 0.26) * H))
    if sweep:  # cross the whole frame, in front of everything
        side = 1.0 if rng.random() < 0.5 else -1.0
        x0, x1 = W / 2 - side * (W / 2 + a), W / 2 + side * (W / 2 + a)
    else:
        x0, x1 = _u(rng, 0.1 * W, 0.9 * W), _u(rng, 0.1 * W, 0.9 * W)
    y0, y1 = _u(rng, 0.2 * H, 0.8 * H), _u(rng, 0.2 * H, 0.8 * H)
    shape = 'ellipse' if kind != 'rigid' or rng.random() < 0.5 else 'rect'
    body = Layer(obj_id, _object_texture(rng, split, int(a) + 1, int(b) + 1),
                 shape, a, b,
                 rot=_swing(rng, 0.25),
                 scale=Poly((_u(rng, 0.85, 1.15), _u(rng, -0.15, 0.15))),
                 tx=_path(rng, ox + x0, ox + x1, 0.3 * W),
                 ty=_path(rng, oy + y0, oy + y1, 0.3 * H))
    if kind == 'deform':
        body.shear_a, body.shear_b = _swing(rng, 0.35), _swing(rng, 0.35)
    layers: List[Layer] = scene.layers
    parent = len(layers)
    layers.append(body)
    if kind != 'articulated':
        return
    for k in range(int(rng.integers(1, 3))):
        side = 1.0 if k == 0 else -1.0  # the second limb points the other way
        length = float(int(_u(rng, 0.8, 1.3) * a))
        half = float(int(_u(rng, 0.2, 0.35) * b)) + 1.0
        tex = _object_texture(rng, split, int(length) + 1, int(half) + 1)
        layers.append(Layer(obj_id, tex, 'limb', side * length, half,
                            rot=_swing(rng, 0.6), tx=Poly((side * 0.7 * a, )),
                            ty=Poly((0.0, )), parent=parent))
