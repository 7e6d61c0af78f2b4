"""Clip renderer with exact ground truth (pure numpy, bit-identical across CPUs).

See :mod:`.clip` (clips and splits), :mod:`.correspondence` (the oracle API),
:mod:`.scene` (rendering), :mod:`.sampler` (random scenes), :mod:`.geometry` (the
exact maps) and :mod:`.textures` (real photographs).
"""
from .clip import (DEFAULT_CLIPS, RENDER_VERSION, SPLIT_SEEDS, ClipConfig,
                   RenderedClip, clip_name, iter_split, render_clip,
                   set_fingerprint)
from .correspondence import (Correspondences, exact_correspondences,
                             track_points)

__all__ = [
    'DEFAULT_CLIPS', 'RENDER_VERSION', 'SPLIT_SEEDS', 'ClipConfig',
    'RenderedClip', 'clip_name', 'iter_split', 'render_clip', 'set_fingerprint',
    'Correspondences', 'exact_correspondences', 'track_points'
]
