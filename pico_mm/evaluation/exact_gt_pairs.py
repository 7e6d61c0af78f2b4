"""Exact ground-truth correspondence pairs: real photographs under known warps.

Each pair is a crop ``A`` of a real photograph (shipped with scikit-image,
``skimage/data``; never a frame of the training videos) and a view ``B`` of the same
photograph through a known warp, so the true match of every point is known exactly;
no tracker or flow is involved.

* ``rigid``: a homography (rotation ±20°, zoom 0.8–1.25×, translation ±12 % of the
  frame, mild perspective: corners jittered by up to 4 %).
* ``nonrigid``: a milder similarity plus a smooth random deformation field (two
  scales of cubic-interpolated random displacements, Jacobian capped so the warp
  never folds) and 1–3 local occluders (ellipses cut from another photograph of the
  same split); points under an occluder are not scored.

Both frames get independent photometric changes (contrast, brightness, colour gain,
gamma, Gaussian blur, noise). Points are sampled at integer pixels of ``B`` (``dst``)
and mapped back exactly through the warp to ``A`` (``src``); a point is kept when
``src`` lies inside ``A`` and ``dst`` is not occluded.

The sets are fixed by ``(PAIRSET_VERSION, split, seed)``: pair ``i`` of a kind is
generated from its own generator ``default_rng([seed, kind, i])``, so a smaller set is
a prefix of a larger one. The ``val`` and ``test`` splits use disjoint photographs
and different seeds. Bump ``PAIRSET_VERSION`` whenever generation changes.

Pure numpy/cv2 (scikit-image is only located on disk, not imported).
"""
import hashlib
import importlib.util
import os.path as osp
from dataclasses import dataclass, field
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .correspondence_probe import ProbePair

__all__ = [
    'PAIRSET_VERSION', 'PHOTOS', 'SPLIT_SEEDS', 'KINDS', 'ExactPair',
    'ExactPairSet', 'make_pair_set', 'load_photo', 'photo_dir'
]

PAIRSET_VERSION = 1
#: Photographs of ``skimage/data`` per split (disjoint).
PHOTOS = {
    'val': ('coffee.png', 'camera.png', 'retina.jpg', 'gravel.png', 'coins.png',
            'moon.png'),
    'test': ('astronaut.png', 'chelsea.png', 'rocket.jpg', 'motorcycle_left.png',
             'grass.png', 'brick.png'),
}
#: Default seed of each split.
SPLIT_SEEDS = {'val': 1000, 'test': 2000}
KINDS = ('rigid', 'nonrigid')


class ExactGTError(RuntimeError):
    """The pair set cannot be built (missing photographs, bad arguments)."""


@dataclass
class ExactPair(ProbePair):
    """A probe pair with an exactly known warp.

    Args (besides :class:`ProbePair`'s ``frame_a``, ``frame_b``, ``src``, ``dst``):
        kind (str): ``'rigid'`` or ``'nonrigid'``.
        photo (str): Source photograph (file name in ``skimage/data``).
        b_to_a (np.ndarray): H×W×2 float32: for every pixel ``(x, y)`` of ``B`` the
            ``(x, y)`` point of the photograph, in ``A``'s coordinates, that the
            warp puts there (also where an occluder covers it).
        occluded (np.ndarray): H×W bool: pixels of ``B`` covered by an occluder
            (dilated by one pixel).
    """
    kind: str = 'rigid'
    photo: str = ''
    b_to_a: Optional[np.ndarray] = field(default=None, repr=False)
    occluded: Optional[np.ndarray] = field(default=None, repr=False)


@dataclass
class ExactPairSet:
    """A fixed, versioned set of :class:`ExactPair`.

    Attributes:
        split (str): ``'val'`` or ``'test'``.
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
        h = hashlib.sha1()
        for p in self.pairs:
            for arr in (p.frame_a, p.frame_b, p.src, p.dst):
                h.update(np.ascontiguousarray(arr).tobytes())
            h.update(p.kind.encode())
        return h.hexdigest()[:12]

    def describe(self) -> dict:
        """Identity of the set (JSON-friendly)."""
        kinds = {k: sum(p.kind == k for p in self.pairs) for k in KINDS}
        return dict(split=self.split, seed=self.seed, version=self.version,
                    size=list(self.size), pairs=kinds,
                    points=int(sum(len(p.src) for p in self.pairs)),
                    fingerprint=self.fingerprint())


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


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast, brightness, colour gain, gamma, blur and noise."""
    x = img.astype(np.float32) / 255.0
    mean = float(x.mean())
    x = (x - mean) * rng.uniform(0.7, 1.3) + mean + rng.uniform(-0.12, 0.12)
    x = x * (1.0 + rng.uniform(-0.08, 0.08, 3)).astype(np.float32)
    x = np.clip(x, 0.0, 1.0) ** np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
    if rng.random() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    x = x + rng.normal(0.0, rng.uniform(0.0, 0.02), x.shape).astype(np.float32)
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def _similarity(rng, size, max_deg, zoom, max_shift) -> np.ndarray:
    """3×3 similarity about the frame centre (maps A points to B points)."""
    H, W = size
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    ang = np.deg2rad(rng.uniform(-max_deg, max_deg))
    s = np.exp(rng.uniform(-np.log(zoom), np.log(zoom)))
    R = s * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    t = rng.uniform(-max_shift, max_shift, 2) * np.array([W, H])
    M = np.eye(3)
    M[:2, :2] = R
    M[:2, 2] = c + t - R @ c
    return M


def _apply_h(M: np.ndarray, xy: np.ndarray) -> np.ndarray:
    p = xy @ M[:2, :2].T + M[:2, 2]
    w = xy @ M[2, :2] + M[2, 2]
    return p / w[..., None]


def _rigid_map(rng, size) -> np.ndarray:
    """``b_to_a`` of a random mild homography."""
    H, W = size
    S = _similarity(rng, size, 20.0, 1.25, 0.12)
    corners = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float64)
    moved = _apply_h(S, corners) + rng.uniform(-1, 1, (4, 2)) * 0.04 * np.array([W, H])
    M = cv2.getPerspectiveTransform(corners.astype(np.float32),
                                    moved.astype(np.float32))
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    return _apply_h(np.linalg.inv(M), np.stack([xs, ys], -1)).astype(np.float32)


def _smooth_field(rng, size, grid, amp) -> np.ndarray:
    H, W = size
    coarse = rng.normal(0.0, amp, (grid[0], grid[1], 2)).astype(np.float32)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC)


def _nonrigid_map(rng, size, max_jacobian: float = 0.3) -> np.ndarray:
    """``b_to_a`` of a mild similarity plus a smooth, fold-free deformation."""
    H, W = size
    S = _similarity(rng, size, 8.0, 1.1, 0.08)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    base = _apply_h(np.linalg.inv(S), np.stack([xs, ys], -1))
    m = min(H, W)
    u = (_smooth_field(rng, size, (3, 4), 0.07 * m) +
         _smooth_field(rng, size, (5, 7), 0.025 * m))
    # Operator-norm bound (Frobenius) of the field's Jacobian below 1 keeps the
    # map y -> S^-1(y) + u(y) one-to-one (no folds, no self-occlusion).
    dy, dx = np.gradient(u[..., 0])
    ey, ex = np.gradient(u[..., 1])
    jac = float(np.sqrt(dx**2 + dy**2 + ex**2 + ey**2).max())
    if jac > max_jacobian:
        u *= max_jacobian / jac
    return (base + u).astype(np.float32)


def _occluders(rng, frame, photos, size) -> np.ndarray:
    """Paste 1-3 ellipses cut from other photographs; returns the bool mask."""
    H, W = size
    mask = np.zeros((H, W), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        other = load_photo(photos[int(rng.integers(len(photos)))])
        oh, ow = other.shape[:2]
        y0 = int(rng.integers(0, max(1, oh - H)))
        x0 = int(rng.integers(0, max(1, ow - W)))
        patch = cv2.resize(other[y0:y0 + max(H, 1) * 2, x0:x0 + max(W, 1) * 2],
                           (W, H), interpolation=cv2.INTER_AREA)
        m = np.zeros((H, W), np.uint8)
        centre = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        axes = (int(W * rng.uniform(0.08, 0.18)) + 1,
                int(H * rng.uniform(0.08, 0.18)) + 1)
        cv2.ellipse(m, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
        frame[m > 0] = patch[m > 0]
        mask |= m
    return mask > 0


def _make_pair(photo: str, kind: str, size: Tuple[int, int], points: int,
               rng: np.random.Generator, others: Sequence[str]) -> ExactPair:
    H, W = size
    img = load_photo(photo)
    ph, pw = img.shape[:2]
    f = rng.uniform(1.6, 2.2) * max(H / ph, W / pw)
    P = cv2.resize(img, (max(W + 2, round(pw * f)), max(H + 2, round(ph * f))),
                   interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    ox = int(round((P.shape[1] - W) * rng.uniform(0.3, 0.7)))
    oy = int(round((P.shape[0] - H) * rng.uniform(0.3, 0.7)))
    frame_a = P[oy:oy + H, ox:ox + W]
    b_to_a = _rigid_map(rng, size) if kind == 'rigid' else _nonrigid_map(rng, size)
    frame_b = cv2.remap(P, b_to_a[..., 0] + ox, b_to_a[..., 1] + oy,
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    occluded = np.zeros((H, W), bool)
    if kind == 'nonrigid':
        occluded = _occluders(rng, frame_b, others, size)
        occluded = cv2.dilate(occluded.astype(np.uint8), np.ones((3, 3))) > 0
    frame_a = _photometric(frame_a, rng)
    frame_b = _photometric(frame_b, rng)
    cand = rng.permutation(H * W)
    ys, xs = cand // W, cand % W
    src = b_to_a[ys, xs]
    ok = (~occluded[ys, xs] & (src[:, 0] >= 0) & (src[:, 0] <= W - 1) &
          (src[:, 1] >= 0) & (src[:, 1] <= H - 1))
    keep = np.flatnonzero(ok)[:points]
    dst = np.stack([xs[keep], ys[keep]], 1).astype(np.float32)
    return ExactPair(frame_a=np.ascontiguousarray(frame_a), frame_b=frame_b,
                     src=src[keep].astype(np.float32), dst=dst, kind=kind,
                     photo=photo, b_to_a=b_to_a, occluded=occluded)


def make_pair_set(split: str = 'val', pairs_per_kind: int = 24,
                  size: Tuple[int, int] = (128, 160), points_per_pair: int = 256,
                  seed: Optional[int] = None,
                  kinds: Sequence[str] = KINDS) -> ExactPairSet:
    """Generate the exact-GT pair set of a split (deterministic).

    Args:
        split (str): ``'val'`` (choose settings on it) or ``'test'`` (report).
        pairs_per_kind (int): Pairs of each kind (a prefix of any larger set).
        size (tuple[int, int]): ``(H, W)`` of the frames (at least 16×16).
        points_per_pair (int): Points sampled per pair (fewer if not enough are
            visible in both frames).
        seed (int, optional): Defaults to ``SPLIT_SEEDS[split]``.
        kinds (Sequence[str]): Subset of ``KINDS``.

    Returns:
        ExactPairSet: Pairs interleaved by kind (rigid 0, nonrigid 0, rigid 1, ...).
    """
    if split not in PHOTOS:
        raise ExactGTError(f'split must be one of {sorted(PHOTOS)}, got {split!r}')
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ExactGTError(f'kinds must be a non-empty subset of {KINDS}, got {kinds}')
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
            k = KINDS.index(kind)
            rng = np.random.default_rng([seed, PAIRSET_VERSION, k, i])
            photo = photos[(i + 3 * k) % len(photos)]
            others = [p for p in photos if p != photo]
            pairs.append(_make_pair(photo, kind, (H, W), points_per_pair, rng,
                                    others))
    return ExactPairSet(split=split, seed=seed, version=PAIRSET_VERSION,
                        size=(H, W), pairs=pairs)
