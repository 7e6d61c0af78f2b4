"""Exact ground-truth correspondence pairs: real photographs, known geometry.

Each pair is two frames whose true match of every point is known exactly; no
tracker or flow is involved. The images are real photographs shipped with
scikit-image (``skimage/data``; never a frame of the training videos).

* ``val`` / ``test`` splits, kinds ``rigid`` and ``nonrigid``
  (:mod:`.exact_gt_warps`): a crop ``A`` of a photograph and a view ``B`` of it
  through a known homography, or a similarity plus a smooth deformation with
  occluders. Points are sampled at integer pixels of ``B`` (``dst``) and mapped
  back exactly through the warp to ``A`` (``src``).
* ``stereo`` split, kind ``stereo`` (:mod:`.exact_gt_stereo`): windows of a real
  rectified stereo pair with dense ground-truth disparity (real parallax and
  occlusion; ``x_R = x_L - d``).

Both frames get independent photometric changes (contrast, brightness, colour
gain, tone curve, blur, noise).

The sets are fixed by ``(PAIRSET_VERSION, split, seed)``: pair ``i`` of a kind is
generated from its own generator ``default_rng([seed, PAIRSET_VERSION, kind,
i])``, so a smaller set is a prefix of a larger one. The ``val`` and ``test``
splits use disjoint photographs and different seeds. Since version 2 every step
is element-wise IEEE arithmetic (:mod:`.deterministic_ops`): a set is
bit-identical on every x86-64 machine (version 1 used OpenCV's float kernels and
numpy's ``exp``/``log``/``power``, whose AVX512 paths changed a few pixels).
Bump ``PAIRSET_VERSION`` whenever generation changes.

Pure numpy/cv2 (scikit-image is only located on disk, not imported).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import deterministic_ops as D
from .exact_gt_photos import (ExactGTError, ExactPair, load_photo, photo_dir)
from .exact_gt_stereo import STEREO_FILES, make_stereo_pair
from .exact_gt_warps import make_warp_pair

__all__ = [
    'PAIRSET_VERSION', 'PHOTOS', 'SPLIT_SEEDS', 'SPLIT_KINDS', 'KINDS',
    'ALL_KINDS', 'ExactGTError', 'ExactPair', 'ExactPairSet', 'make_pair_set',
    'load_photo', 'photo_dir'
]

PAIRSET_VERSION = 2
#: Photographs of ``skimage/data`` per split (``val`` and ``test`` disjoint).
PHOTOS = {
    'val': ('coffee.png', 'camera.png', 'retina.jpg', 'gravel.png', 'coins.png',
            'moon.png'),
    'test': ('astronaut.png', 'chelsea.png', 'rocket.jpg', 'motorcycle_left.png',
             'grass.png', 'brick.png'),
    'stereo': STEREO_FILES[:2],
}
#: Default seed of each split.
SPLIT_SEEDS = {'val': 1000, 'test': 2000, 'stereo': 3000}
#: The warp kinds (the ``val`` and ``test`` splits).
KINDS = ('rigid', 'nonrigid')
#: Every kind; its index seeds the pair's generator.
ALL_KINDS = KINDS + ('stereo', )
#: Kinds of each split (the default ``kinds`` of :func:`make_pair_set`).
SPLIT_KINDS = {'val': KINDS, 'test': KINDS, 'stereo': ('stereo', )}


@dataclass
class ExactPairSet:
    """A fixed, versioned set of :class:`ExactPair`.

    Attributes:
        split (str): ``'val'``, ``'test'`` or ``'stereo'``.
        seed (int): Generation seed.
        version (int): ``PAIRSET_VERSION`` it was generated with.
        size (tuple[int, int]): ``(H, W)`` of every frame.
        pairs (list[ExactPair]): The pairs, kinds interleaved.
    """
    split: str
    seed: int
    version: int
    size: Tuple[int, int]
    pairs: List[ExactPair]

    def fingerprint(self) -> str:
        """12 hex digits of SHA-1 over all frames and points (identifies the set)."""
        return D.sha1_hex(a for p in self.pairs
                          for a in (p.frame_a, p.frame_b, p.src, p.dst,
                                    np.frombuffer(p.kind.encode(), np.uint8)))

    def describe(self) -> dict:
        """Identity of the set (JSON-friendly)."""
        kinds = {k: sum(p.kind == k for p in self.pairs) for k in ALL_KINDS
                 if any(p.kind == k for p in self.pairs)}
        return dict(split=self.split, seed=self.seed, version=self.version,
                    size=list(self.size), pairs=kinds,
                    points=int(sum(len(p.src) for p in self.pairs)),
                    fingerprint=self.fingerprint())


def make_pair_set(split: str = 'val', pairs_per_kind: int = 24,
                  size: Tuple[int, int] = (128, 160), points_per_pair: int = 256,
                  seed: Optional[int] = None,
                  kinds: Optional[Sequence[str]] = None) -> ExactPairSet:
    """Generate the exact-GT pair set of a split (deterministic).

    Args:
        split (str): ``'val'`` (choose settings on it), ``'test'`` (report) or
            ``'stereo'`` (report; real parallax, one scene).
        pairs_per_kind (int): Pairs of each kind (a prefix of any larger set).
        size (tuple[int, int]): ``(H, W)`` of the frames (at least 16×16).
        points_per_pair (int): Points sampled per pair (fewer if not enough are
            visible in both frames).
        seed (int, optional): Defaults to ``SPLIT_SEEDS[split]``.
        kinds (Sequence[str], optional): Subset of ``SPLIT_KINDS[split]`` (the
            default).

    Returns:
        ExactPairSet: Pairs interleaved by kind (rigid 0, nonrigid 0, rigid 1, ...).
    """
    if split not in PHOTOS:
        raise ExactGTError(f'split must be one of {sorted(PHOTOS)}, got {split!r}')
    allowed = SPLIT_KINDS[split]
    kinds = allowed if kinds is None else tuple(kinds)
    if not kinds or any(k not in allowed for k in kinds):
        raise ExactGTError(f'kinds of split {split!r} must be a non-empty subset '
                           f'of {allowed}, got {kinds}')
    H, W = (int(s) for s in size)
    if H < 16 or W < 16 or pairs_per_kind < 1 or points_per_pair < 1:
        raise ExactGTError('size must be at least 16x16 and pairs_per_kind, '
                           f'points_per_pair >= 1 (got {size}, {pairs_per_kind}, '
                           f'{points_per_pair})')
    seed = SPLIT_SEEDS[split] if seed is None else int(seed)
    photos = PHOTOS[split]
    pairs = []
    for i in range(pairs_per_kind):
        for kind in kinds:
            k = ALL_KINDS.index(kind)
            rng = np.random.default_rng([seed, PAIRSET_VERSION, k, i])
            if kind == 'stereo':
                pairs.append(make_stereo_pair((H, W), points_per_pair, rng))
                continue
            photo = photos[(i + 3 * k) % len(photos)]
            others = [p for p in photos if p != photo]
            pairs.append(make_warp_pair(photo, kind, (H, W), points_per_pair,
                                        rng, others))
    return ExactPairSet(split=split, seed=seed, version=PAIRSET_VERSION,
                        size=(H, W), pairs=pairs)
