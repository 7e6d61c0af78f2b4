"""Textures of the clip renderer: real photographs shipped in the scikit-image wheel.

Only photographs that the exact-GT image benchmark does not use
(:data:`pico_mm.evaluation.exact_gt_pairs.PHOTOS`) and not ``motorcycle_right.png``
(the real-viewpoint stereo pair). Each split has its own photographs, so train, val
and test clips share no texture. Faces come from ``lfw_subset.npy`` (200 LFW faces,
25×25), split by index. Every operation is integer arithmetic or a nearest-neighbour
lookup (PNG decoding is lossless; JPEG decoding uses libjpeg-turbo's integer IDCT).
"""
import os.path as osp
from functools import lru_cache
from typing import Dict, Tuple

import cv2
import numpy as np

from pico_mm.evaluation.exact_gt_pairs import PHOTOS as EXACT_GT_PHOTOS
from pico_mm.evaluation.exact_gt_pairs import ExactGTError, photo_dir

__all__ = ['TEXTURES', 'FACES', 'load_texture', 'load_face', 'box_down', 'tint']

#: Photographs per split: (file, integer contrast gain ×1/8).
TEXTURES: Dict[str, Tuple[Tuple[str, int], ...]] = {
    'train': (('ihc.png', 8), ('page.png', 8)),
    'val': (('clock_motion.png', 16), ('text.png', 16)),
    'test': (('cell.png', 16), ('hubble_deep_field.jpg', 24)),
}
#: LFW face indices per split (``lfw_subset.npy``).
FACES = {'train': (0, 100), 'val': (100, 150), 'test': (150, 200)}
_USED_ELSEWHERE = set(EXACT_GT_PHOTOS['val'] + EXACT_GT_PHOTOS['test'] +
                      ('motorcycle_right.png', ))
assert not _USED_ELSEWHERE & {f for v in TEXTURES.values() for f, _ in v}


@lru_cache(maxsize=16)
def load_texture(name: str, gain8: int = 8) -> np.ndarray:
    """A photograph as uint8 H×W×3 BGR with its contrast stretched around the mean.

    ``out = clip(mean + (img - mean) * gain8 / 8)`` in integers (``mean`` is the
    integer mean of the image, an exact integer sum).

    Args:
        name (str): File in ``skimage/data``.
        gain8 (int): Contrast gain in eighths (8 = unchanged).

    Returns:
        np.ndarray: uint8 H×W×3 BGR (read-only).
    """
    path = osp.join(photo_dir(), name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ExactGTError(f'{path}: missing or unreadable; reinstall '
                           'scikit-image (`bash scripts/setup_env.sh`)')
    x = img.astype(np.int64)
    mean = int(x.sum()) // x.size
    out = np.clip(mean + ((x - mean) * gain8) // 8, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=2)
def _faces() -> np.ndarray:
    path = osp.join(photo_dir(), 'lfw_subset.npy')
    if not osp.isfile(path):
        raise ExactGTError(f'{path}: missing; reinstall scikit-image '
                           '(`bash scripts/setup_env.sh`)')
    # Values are k/255 (stored float64): x * 255 + 0.5 is exact enough to floor.
    faces = np.floor(np.load(path) * 255.0 + 0.5).astype(np.uint8)
    faces.setflags(write=False)
    return faces


def load_face(index: int) -> np.ndarray:
    """LFW face ``index`` as uint8 25×25×3 (grey in three channels)."""
    return np.repeat(_faces()[index][..., None], 3, axis=2)


def box_down(img: np.ndarray, factor: int) -> np.ndarray:
    """Integer box down-sampling by ``factor`` (rounded integer mean of each block).

    Args:
        img (np.ndarray): uint8 H×W×C.
        factor (int): Block size (1 = copy).

    Returns:
        np.ndarray: uint8 (H // factor)×(W // factor)×C.
    """
    if factor <= 1:
        return np.array(img)
    h, w = img.shape[0] // factor, img.shape[1] // factor
    blocks = img[:h * factor, :w * factor].astype(np.int64).reshape(
        h, factor, w, factor, -1)
    n = factor * factor
    return ((blocks.sum(axis=(1, 3)) + n // 2) // n).astype(np.uint8)


def tint(img: np.ndarray, gains: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Integer colour tint: ``out_c = min(255, img_c * gains_c // 256 + bias_c)``.

    Args:
        img (np.ndarray): uint8 H×W×3.
        gains (np.ndarray): 3 integers in [0, 256].
        bias (np.ndarray): 3 integers in [0, 255].

    Returns:
        np.ndarray: uint8 H×W×3.
    """
    x = img.astype(np.int64) * np.asarray(gains, np.int64) // 256
    return np.minimum(x + np.asarray(bias, np.int64), 255).astype(np.uint8)
