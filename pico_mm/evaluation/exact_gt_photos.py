"""The exact-GT pairs' material: scikit-image's photographs, views, photometry.

Everything here follows the rule of :mod:`pico_mm.evaluation.deterministic_ops`
(element-wise IEEE arithmetic only), so the generated frames are bit-identical on
every x86-64 machine with the pinned stack. Photographs are decoded with
``cv2.imread`` (integer code; measured unchanged without SIMD).

Pure numpy/cv2 (scikit-image is only located on disk, not imported).
"""
import importlib.util
import os.path as osp
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Tuple

import cv2
import numpy as np

from . import deterministic_ops as D
from .correspondence_probe import ProbePair

__all__ = ['ExactGTError', 'ExactPair', 'photo_dir', 'load_photo',
           'photometric', 'View']


class ExactGTError(RuntimeError):
    """The pair set cannot be built (missing photographs, bad arguments)."""


@dataclass
class ExactPair(ProbePair):
    """A probe pair with exactly known correspondences.

    Args (besides :class:`ProbePair`'s ``frame_a``, ``frame_b``, ``src``, ``dst``):
        kind (str): ``'rigid'``, ``'nonrigid'`` or ``'stereo'``.
        photo (str): Source photograph (file name in ``skimage/data``).
        b_to_a (np.ndarray, optional): H×W×2 float32 (warp kinds): for every
            pixel ``(x, y)`` of ``B`` the ``(x, y)`` point of the photograph, in
            ``A``'s coordinates, that the warp puts there (also where an occluder
            covers it). ``None`` for ``stereo`` (only ``A``'s disparity is known).
        occluded (np.ndarray, optional): H×W bool: pixels of ``B`` covered by an
            occluder (dilated by one pixel); ``None`` for ``stereo``.
    """
    kind: str = 'rigid'
    photo: str = ''
    b_to_a: Optional[np.ndarray] = field(default=None, repr=False)
    occluded: Optional[np.ndarray] = field(default=None, repr=False)


def photo_dir() -> str:
    """Folder of scikit-image's sample photographs (``skimage/data``)."""
    spec = importlib.util.find_spec('skimage')
    if spec is None or not spec.submodule_search_locations:
        raise ExactGTError(
            'scikit-image is not installed (its sample photographs are the '
            'exact-GT pair set): run `bash scripts/setup_env.sh` or '
            '`pip install scikit-image`')
    return osp.join(list(spec.submodule_search_locations)[0], 'data')


@lru_cache(maxsize=32)
def load_photo(name: str) -> np.ndarray:
    """A scikit-image sample photograph as uint8 H×W×3 BGR (grey → 3 channels)."""
    path = osp.join(photo_dir(), name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ExactGTError(f'{path}: missing or unreadable; reinstall '
                           'scikit-image (`bash scripts/setup_env.sh`)')
    img.setflags(write=False)
    return img


@lru_cache(maxsize=16)
def _level(name: str, halvings: int, passes: int) -> np.ndarray:
    """The photograph halved ``halvings`` times (2×2 means), then blurred."""
    img = np.asarray(load_photo(name), np.float64)
    for _ in range(halvings):
        h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
        img = ((img[0:h:2, 0:w:2] + img[1:h:2, 0:w:2]) +
               (img[0:h:2, 1:w:2] + img[1:h:2, 1:w:2])) * 0.25
    out = D.binomial_blur(img, passes)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class View:
    """A frame's window on a photograph scaled by ``scale``.

    Frame pixel ``(x, y)`` shows photo point ``((x + ox + 0.5) / scale - 0.5,
    (y + oy + 0.5) / scale - 0.5)`` (pixel centres aligned, like ``cv2.resize``).
    """
    photo: str
    scale: float
    ox: int
    oy: int

    @classmethod
    def random(cls, photo: str, size: Tuple[int, int], rng: np.random.Generator,
               spread: Tuple[float, float] = (0.3, 0.7)) -> 'View':
        """The frame covers 1/1.6–1/2.2 of the photograph, placed at ``spread``."""
        H, W = size
        ph, pw = load_photo(photo).shape[:2]
        scale = rng.uniform(1.6, 2.2) * max(H / ph, W / pw)
        cw, ch = max(W + 2, round(pw * scale)), max(H + 2, round(ph * scale))
        ox = int(round((cw - W) * rng.uniform(*spread)))
        oy = int(round((ch - H) * rng.uniform(*spread)))
        return cls(photo, float(scale), ox, oy)

    def to_photo(self, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Frame coordinates → photograph coordinates (float64)."""
        return ((np.asarray(x, np.float64) + (self.ox + 0.5)) / self.scale - 0.5,
                (np.asarray(y, np.float64) + (self.oy + 0.5)) / self.scale - 0.5)

    def to_frame(self, px: np.ndarray, py: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Photograph coordinates → frame coordinates (float64)."""
        return ((np.asarray(px, np.float64) + 0.5) * self.scale - (self.ox + 0.5),
                (np.asarray(py, np.float64) + 0.5) * self.scale - (self.oy + 0.5))

    def sample(self, x: np.ndarray, y: np.ndarray,
               photo: Optional[str] = None) -> np.ndarray:
        """The (anti-aliased) photograph at frame points ``(x, y)``: S×3 uint8.

        Args:
            photo (str, optional): Another photograph of the same size seen
                through the same window (the stereo pair's right image).
        """
        px, py = self.to_photo(x, y)
        halvings, scale = 0, self.scale
        while scale < 0.5:  # 2x2 means first: exact and cheap on big photos
            halvings, scale = halvings + 1, scale * 2.0
            px, py = (px + 0.5) * 0.5 - 0.5, (py + 0.5) * 0.5 - 0.5
        img = _level(photo or self.photo, halvings, D.antialias_passes(scale))
        return D.to_uint8(D.bilinear_sample(img, px, py))


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast, brightness, colour gain, tone curve, blur and noise.

    Contrast ×0.7–1.3 about the mean, brightness ±0.12, gain ±8 % per channel,
    tone curve :func:`~pico_mm.evaluation.deterministic_ops.bias_curve` with
    ``k`` in 0.8–1.25 (like gamma 0.85–1.17), on half the frames a binomial blur
    of 1–4 passes (σ 0.7–1.4 px), noise σ ≤ 0.02.

    Args:
        img (np.ndarray): H×W×3 uint8.
        rng (np.random.Generator): Source of the random parameters.

    Returns:
        np.ndarray: H×W×3 uint8.
    """
    mean = int(img.sum(dtype=np.int64)) / (img.size * 255.0)
    x = img.astype(np.float64) / 255.0
    x = ((x - mean) * rng.uniform(0.7, 1.3) + mean) + rng.uniform(-0.12, 0.12)
    x = x * (1.0 + rng.uniform(-0.08, 0.08, 3))
    x = D.bias_curve(np.clip(x, 0.0, 1.0), D.ratio(rng.random(), 1.25))
    if rng.random() < 0.5:
        x = D.binomial_blur(x, int(rng.integers(1, 5)))
    x = x + D.noise(rng, x.shape, rng.uniform(0.0, 0.02))
    return D.to_uint8(x, 255.0)
