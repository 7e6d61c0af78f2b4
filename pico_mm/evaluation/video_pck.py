"""Video PCK@1: the pre-registered primary metric of issue 19.

``docs/preregistration.md``: for each rendered clip, the points placed on a
query frame ``t0`` (every 10th frame by default, ``tools/data/render_clips.py
--query-every``) are matched into frames ``t0 + gap`` for gaps 8, 16 and 32 (pairs
past the clip's end are dropped); only points visible in both frames that moved
by more than one feature cell in the renderer's exact ground truth count; a hit
is a cosine nearest neighbour (over all cells of the target frame) within one
cell of the true position. Points are pooled over all clips. Per-clip counts are
returned too, for the bootstrap over clips (:mod:`.paired_stats`), with the
chance and no-motion rates beside the accuracy.

Pure torch/numpy: no mmengine.
"""
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch

from .correspondence_probe import cell_size, point_results
from .davis_layout import list_clips, load_tracks
from .label_propagation import embed_frames

__all__ = ['VIDEO_PCK_GAPS', 'clip_video_pck', 'video_pck']

#: Frame gaps of the primary metric (pre-registered).
VIDEO_PCK_GAPS = (8, 16, 32)


def clip_video_pck(feats: torch.Tensor, tracks, image_size,
                   gaps: Sequence[int] = VIDEO_PCK_GAPS) -> Dict[str, float]:
    """Counts of one clip.

    Args:
        feats (torch.Tensor): T×C×h×w features of the clip's frames.
        tracks (ClipTracks): The clip's exact tracks
            (:func:`~pico_mm.evaluation.davis_layout.load_tracks`).
        image_size (tuple[int, int]): ``(H, W)`` of the frames.
        gaps (Sequence[int]): Frame gaps.

    Returns:
        dict: ``hits``, ``points``, ``chance`` (sum of per-point chance rates),
        ``still`` (no-motion hits) and ``per_gap`` ``{gap: [hits, points]}``.
    """
    num_frames = feats.shape[0]
    cell = cell_size(image_size, feats.shape[-2:])
    out = dict(hits=0, points=0, chance=0.0, still=0,
               per_gap={int(g): [0, 0] for g in gaps})
    for t0 in np.unique(tracks.query_frame).tolist():
        for gap in gaps:
            t1 = int(t0) + int(gap)
            if t1 >= num_frames:
                continue
            src, dst, _ = tracks.pair(int(t0), t1, query_frame=int(t0))
            moved = np.linalg.norm(dst - src, axis=1) > cell + 1e-4
            if not moved.any():
                continue
            res = point_results(feats[int(t0)], feats[t1], src[moved], dst[moved],
                                image_size, [cell])
            hits, n = int(res['hit'][0].sum()), int(res['hit'].shape[1])
            out['hits'] += hits
            out['points'] += n
            out['chance'] += float(res['chance'][0].sum())
            out['still'] += int(res['still'][0].sum())
            out['per_gap'][int(gap)][0] += hits
            out['per_gap'][int(gap)][1] += n
    return out


def video_pck(embed_fn: Callable[[torch.Tensor], torch.Tensor], root: str,
              split: str = 'test', resolution: str = '480p',
              clips: Optional[Sequence[str]] = None,
              gaps: Sequence[int] = VIDEO_PCK_GAPS, batch_size: int = 8,
              progress: Optional[Callable[[int], None]] = None) -> dict:
    """Video PCK@1 on a rendered DAVIS-layout folder (with ``Correspondences/``).

    Args:
        embed_fn: Maps an N×3×H×W uint8 BGR tensor to N×C×h×w features.
        root (str): Folder written by ``tools/data/render_clips.py``.
        split (str): Image set (``ImageSets/2017/<split>.txt``).
        resolution (str): Frame sub-folder.
        clips (Sequence[str], optional): Only these clips.
        gaps (Sequence[int]): Frame gaps (default: the pre-registered 8, 16, 32).
        batch_size (int): Frames per forward pass.
        progress (callable, optional): Called with 1 after each clip.

    Returns:
        dict: ``acc`` (pooled hits / points), ``hits``, ``points``, ``chance``,
        ``zero_motion``, ``per_gap`` ``{gap: acc}``, ``clips``
        ``{clip: {hits, points}}`` and the ``settings``.

    Raises:
        DavisLayoutError: A clip has no exact correspondences, or a frame or
            annotation is missing (the message names the file).
    """
    per_clip, total = {}, dict(hits=0, points=0, chance=0.0, still=0)
    per_gap = {int(g): [0, 0] for g in gaps}
    for clip in list_clips(root, split, resolution, clips):
        frames = clip.read_frames()
        feats = embed_frames(embed_fn, frames, batch_size)
        res = clip_video_pck(feats, load_tracks(root, clip.name),
                             frames.shape[1:3], gaps)
        per_clip[clip.name] = dict(hits=res['hits'], points=res['points'])
        for k in total:
            total[k] += res[k]
        for g, (h, n) in res['per_gap'].items():
            per_gap[g][0] += h
            per_gap[g][1] += n
        if progress is not None:
            progress(1)
    n = total['points']
    nan = float('nan')
    return dict(acc=total['hits'] / n if n else nan, hits=total['hits'],
                points=n, chance=total['chance'] / n if n else nan,
                zero_motion=total['still'] / n if n else nan,
                per_gap={g: (h / m if m else nan) for g, (h, m) in per_gap.items()},
                clips=per_clip,
                settings=dict(split=split, root=osp.abspath(root),
                              gaps=[int(g) for g in gaps], radius_cells=1))
