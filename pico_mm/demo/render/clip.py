"""Rendered clips: frames, instance masks and layers of a sampled scene.

A clip is fixed by ``(RENDER_VERSION, split, seed, index, ClipConfig)``: clip ``i``
of a split is drawn from ``default_rng([seed, RENDER_VERSION, i])`` and textured with
that split's photographs only (:mod:`.textures`). Train, val and test use disjoint
seeds and disjoint photographs. Bump ``RENDER_VERSION`` whenever generation changes;
the default sets' fingerprints are tested against constants.
"""
import hashlib
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import numpy as np

from .sampler import sample_scene
from .scene import Scene, render_frame

__all__ = ['RENDER_VERSION', 'SPLIT_SEEDS', 'DEFAULT_CLIPS', 'ClipConfig',
           'RenderedClip', 'render_clip', 'iter_split', 'clip_name',
           'set_fingerprint']

RENDER_VERSION = 1
#: Default seed of each split (disjoint).
SPLIT_SEEDS = {'train': 3000, 'val': 4000, 'test': 5000}
#: Clips per split of the default set.
DEFAULT_CLIPS = {'train': 8, 'val': 4, 'test': 4}


@dataclass(frozen=True)
class ClipConfig:
    """Size of the rendered clips.

    Args:
        height (int): Frame height (DAVIS "480p" frames are 480×854; the default
            is smaller for the CPU, with the same folder names).
        width (int): Frame width.
        num_frames (int): Frames per clip.
        num_objects (int): Foreground objects per clip (instance ids 1..N).
    """
    height: int = 96
    width: int = 160
    num_frames: int = 48
    num_objects: int = 3


@dataclass
class RenderedClip:
    """One rendered clip.

    Attributes:
        name (str): Clip name (``<split>_<index>``), the DAVIS sequence folder.
        split (str): Split it belongs to.
        scene (Scene): Its full description (for exact correspondences).
        frames (np.ndarray): uint8 T×H×W×3 BGR frames.
        layers (np.ndarray): int16 T×H×W index of the layer shown at each pixel.
        masks (np.ndarray): uint8 T×H×W instance ids (0 = background).
    """
    name: str
    split: str
    scene: Scene = field(repr=False)
    frames: np.ndarray = field(repr=False)
    layers: np.ndarray = field(repr=False)
    masks: np.ndarray = field(repr=False)

    def fingerprint(self) -> str:
        """12 hex digits of SHA-1 over frames and masks."""
        h = hashlib.sha1(self.name.encode())
        for arr in (self.frames, self.masks):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:12]


def clip_name(split: str, index: int) -> str:
    """DAVIS sequence name of clip ``index`` of ``split``."""
    return f'{split}_{index:03d}'


def render_clip(split: str, index: int, cfg: Optional[ClipConfig] = None,
                seed: Optional[int] = None) -> RenderedClip:
    """Render clip ``index`` of a split.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        index (int): Clip index within the split.
        cfg (ClipConfig, optional): Clip size. Defaults to ``ClipConfig()``.
        seed (int, optional): Split seed (default ``SPLIT_SEEDS[split]``).

    Returns:
        RenderedClip: Frames, layers and masks of all ``cfg.num_frames`` frames.
    """
    cfg = cfg or ClipConfig()
    seed = SPLIT_SEEDS[split] if seed is None else seed
    scene = sample_scene([seed, RENDER_VERSION, index], split, cfg.height,
                         cfg.width, cfg.num_frames, cfg.num_objects)
    out = [render_frame(scene, t) for t in range(cfg.num_frames)]
    frames, layers, masks = (np.stack(x) for x in zip(*out))
    return RenderedClip(clip_name(split, index), split, scene, frames, layers,
                        masks)


def iter_split(split: str, num_clips: Optional[int] = None,
               cfg: Optional[ClipConfig] = None,
               seed: Optional[int] = None) -> Iterator[RenderedClip]:
    """Render the clips of a split one by one (default: ``DEFAULT_CLIPS[split]``)."""
    n = DEFAULT_CLIPS[split] if num_clips is None else num_clips
    for i in range(n):
        yield render_clip(split, i, cfg, seed)


def set_fingerprint(clips: List[RenderedClip]) -> str:
    """12 hex digits of SHA-1 over the clips' fingerprints (in order)."""
    h = hashlib.sha1()
    for c in clips:
        h.update(c.fingerprint().encode())
    return h.hexdigest()[:12]
