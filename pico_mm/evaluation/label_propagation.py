"""Label propagation with frozen dense features (the CRW protocol) and its scores.

Jabri et al. 2020 ("Space-Time Correspondence as a Contrastive Random Walk"),
semi-supervised video object segmentation with frozen features, as in their code:

* every frame is embedded; features are L2-normalised per cell;
* the first frame's mask is given as soft one-hot labels (background + objects),
  resized to the feature map (bilinear, ``align_corners=True``);
* frame ``t`` is predicted from a context of the first frame plus the
  ``n_context`` (20) previous frames (frames before the clip start are copies of
  the first frame), whose labels are the earlier soft predictions;
* affinity = cosine similarity / temperature (0.05); the recent frames are
  restricted to keys within a Euclidean radius (< 12 feature cells) of the query
  cell, the first frame is not; the top-k (10) keys over the whole context are
  softmaxed and their labels averaged (soft labels, kept for later frames);
* the soft labels are up-sampled to the image (bilinear, ``align_corners=True``)
  and argmax'd; J and F as in the DAVIS toolkit (:mod:`.davis_metrics`).

Point-match accuracy from a rendered clip's exact correspondences
(``Correspondences/<clip>.npz``) is reported beside it: for the points placed on
the first frame and every later frame where they are visible and moved more than
one feature cell, the cosine nearest neighbour over all cells of that frame is a
hit within one cell; split into foreground, near-boundary (within 2 cells of a
mask edge at the target) and re-appearing (hidden in some frame in between) points.

Pure torch/numpy: no mmengine.
"""
import math
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .correspondence_probe import cell_size, point_results
from .davis_layout import ClipTracks, list_clips, load_tracks
from .davis_metrics import VOID, clip_jf, disk, mean_jf

__all__ = ['CRW_SETTINGS', 'crw_propagate', 'labels_to_ids', 'embed_frames',
           'point_groups', 'label_propagation']

#: The CRW protocol's settings (Jabri et al. 2020).
CRW_SETTINGS = dict(topk=10, radius=12.0, n_context=20, temperature=0.05)
POINT_GROUPS = ('all', 'foreground', 'near_boundary', 'reappearing')


def _cell_positions(h: int, w: int) -> torch.Tensor:
    """(h·w)×2 float ``(row, col)`` of every cell, row-major."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.stack([y.reshape(-1), x.reshape(-1)], 1).float()


def _radius_bias(queries: torch.Tensor, keys: torch.Tensor,
                 radius: float) -> torch.Tensor:
    """q×k additive mask: 0 where a key is within ``radius`` cells, else -1e10."""
    return torch.where(torch.cdist(queries, keys) < radius, 0.0, -1e10)


def crw_propagate(feats: torch.Tensor, first: torch.Tensor, topk: int = 10,
                  radius: float = 12.0, n_context: int = 20,
                  temperature: float = 0.05,
                  chunk: int = 1 << 24) -> torch.Tensor:
    """Propagate soft labels through a clip (CRW).

    Args:
        feats (torch.Tensor): T×C×h×w frame features (normalised here).
        first (torch.Tensor): K×h×w soft labels of frame 0.
        topk (int): Neighbours averaged per query cell.
        radius (float): Spatial radius (feature cells) on the recent frames.
        n_context (int): Recent frames in the context (besides the first).
        temperature (float): Softmax temperature.
        chunk (int): Affinity entries computed at once (memory bound).

    Returns:
        torch.Tensor: T×K×h×w soft labels (frame 0 = ``first``).
    """
    T, C, h, w = feats.shape
    K, hw = first.shape[0], h * w
    f = F.normalize(feats.float(), dim=1).reshape(T, C, hw)
    pos = _cell_positions(h, w)
    labels = [first.float().reshape(K, hw)]
    for t in range(1, T):
        ctx = [0] + [max(s, 0) for s in range(t - n_context, t)]
        keys = f[ctx].permute(1, 0, 2).reshape(C, -1)  # C×(n·hw)
        ctx_lbls = torch.stack([labels[c] for c in ctx], 1).reshape(K, -1)
        k = min(topk, len(ctx) * hw)
        step = max(1, chunk // (len(ctx) * hw))
        pred = torch.empty(K, hw)
        for q0 in range(0, hw, step):
            q = f[t][:, q0:q0 + step].t()  # q×C
            A = q @ keys  # q×(n·hw), one GEMM
            bias = _radius_bias(pos[q0:q0 + step], pos, radius)  # q×hw
            A.view(q.shape[0], len(ctx), hw)[:, 1:] += bias[:, None]
            A /= temperature
            wts, ids = torch.topk(A, k, dim=1)
            wts = F.softmax(wts, dim=1)
            pred[:, q0:q0 + step] = (ctx_lbls[:, ids] * wts[None]).sum(2)
        labels.append(pred)
    return torch.stack(labels).reshape(T, K, h, w)


def labels_to_ids(soft: torch.Tensor, size, ids: Sequence[int]) -> np.ndarray:
    """Up-sample T×K×h×w soft labels to ``size`` (H, W), argmax, map to ``ids``.

    One frame at a time (a DAVIS 480p clip at full size would not fit at once).
    """
    lut = np.asarray(ids, np.uint8)
    return np.stack([
        lut[F.interpolate(s[None], size=tuple(size), mode='bilinear',
                          align_corners=True)[0].argmax(0).numpy()]
        for s in soft])


def one_hot(mask: np.ndarray, ids: Sequence[int]) -> torch.Tensor:
    """K×H×W float one-hot of an H×W id mask over ``ids`` (void counts as none)."""
    return torch.from_numpy(np.stack([mask == i for i in ids]).astype(np.float32))


def embed_frames(embed_fn: Callable[[torch.Tensor], torch.Tensor],
                 frames: np.ndarray, batch_size: int = 8) -> torch.Tensor:
    """T×C×h×w features of uint8 T×H×W×3 BGR frames (no grad)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(
                frames[i:i + batch_size])).permute(0, 3, 1, 2).contiguous()
            out.append(embed_fn(batch).float())
    return torch.cat(out)


def _edges(mask: np.ndarray) -> np.ndarray:
    """H×W bool: pixels with a 4-neighbour of another id."""
    e = np.zeros(mask.shape, bool)
    dx, dy = mask[:, 1:] != mask[:, :-1], mask[1:] != mask[:-1]
    e[:, 1:] |= dx
    e[:, :-1] |= dx
    e[1:] |= dy
    e[:-1] |= dy
    return e


def point_groups(feats: torch.Tensor, tracks: ClipTracks, masks: np.ndarray,
                 image_size) -> Dict[str, np.ndarray]:
    """Hits of first-frame points per group, over all later frames.

    Args:
        feats (torch.Tensor): T×C×h×w features.
        tracks (ClipTracks): Exact tracks of the clip.
        masks (np.ndarray): T×H×W true ids.
        image_size (tuple): ``(H, W)``.

    Returns:
        dict: ``{group: (hits, chance)}`` for :data:`POINT_GROUPS`: bool and float
        arrays over the scored points (``chance``: a random cell's hit probability).
    """
    import cv2
    cell = cell_size(image_size, feats.shape[-2:])
    near_kernel = disk(int(math.ceil(2 * cell)))
    H, W = image_size
    out = {g: [] for g in POINT_GROUPS}
    q = tracks.query_frame == 0
    vis, pos, obj = tracks.visible[q], tracks.tracks[q], tracks.obj_id[q]
    for t in range(1, feats.shape[0]):
        keep = vis[:, 0] & vis[:, t]
        motion = np.linalg.norm(pos[:, t] - pos[:, 0], axis=1)
        keep &= motion > cell + 1e-4
        if not keep.any():
            continue
        res = point_results(feats[0], feats[t], pos[keep, 0], pos[keep, t],
                            image_size, [cell])
        hit, chance = res['hit'][0], res['chance'][0]
        dst = np.floor(pos[keep, t] + 0.5).astype(np.int64)
        dx, dy = np.clip(dst[:, 0], 0, W - 1), np.clip(dst[:, 1], 0, H - 1)
        near = cv2.dilate(_edges(masks[t]).astype(np.uint8), near_kernel) > 0
        hidden = (~vis[keep, 1:t]).any(1) if t > 1 else np.zeros(hit.shape, bool)
        groups = dict(all=np.ones(hit.shape, bool), foreground=obj[keep] > 0,
                      near_boundary=near[dy, dx], reappearing=hidden)
        for g, sel in groups.items():
            out[g].append((hit[sel], chance[sel]))
    return {g: tuple(np.concatenate(x) for x in zip(*v)) if v else
            (np.zeros(0, bool), np.zeros(0))
            for g, v in out.items()}


def label_propagation(embed_fn: Callable[[torch.Tensor], torch.Tensor],
                      root: str, split: str = 'val', resolution: str = '480p',
                      clips: Optional[Sequence[str]] = None,
                      settings: Optional[dict] = None, batch_size: int = 8,
                      points: bool = True,
                      progress: Optional[Callable[[int], None]] = None) -> dict:
    """Label propagation J, F, J&F (and point accuracy) on a DAVIS-layout folder.

    Args:
        embed_fn: Maps an N×3×H×W uint8 BGR tensor to N×C×h×w features.
        root (str): Folder in the DAVIS-2017 layout (:mod:`.davis_layout`).
        split (str): Image set (``ImageSets/2017/<split>.txt``).
        resolution (str): Frame sub-folder (``480p``).
        clips (Sequence[str], optional): Only these clips.
        settings (dict, optional): Overrides of :data:`CRW_SETTINGS`.
        batch_size (int): Frames per forward pass.
        points (bool): Also score point matches where ``Correspondences/`` has
            the clip's exact tracks.
        progress (callable, optional): Called with 1 after each clip.

    Returns:
        dict: ``clips`` (``{clip: {'objects': {id: {J, F, J&F}}, 'frames': T}}``),
        ``mean`` (J, F, J&F over all objects, ``objects``), ``settings``, and
        ``points`` (``{group: {acc, hits, points, chance}}``; absent without
        tracks).
    """
    cfg = dict(CRW_SETTINGS, **(settings or {}))
    per_clip, hits = {}, {g: [] for g in POINT_GROUPS}
    have_points = False
    for clip in list_clips(root, split, resolution, clips):
        frames, masks = clip.read_frames(), clip.read_masks()
        ids = [0] + [int(i) for i in np.unique(masks[0]) if i not in (0, VOID)]
        feats = embed_frames(embed_fn, frames, batch_size)
        first = F.interpolate(one_hot(masks[0], ids)[None], feats.shape[-2:],
                              mode='bilinear', align_corners=True)[0]
        soft = crw_propagate(feats, first, **cfg)
        pred = labels_to_ids(soft, masks.shape[1:], ids)
        per_clip[clip.name] = dict(objects=clip_jf(pred, masks, ids[1:]),
                                   frames=int(len(frames)))
        tracks_path = osp.join(root, 'Correspondences', clip.name + '.npz')
        if points and osp.isfile(tracks_path):
            have_points = True
            for g, v in point_groups(feats, load_tracks(root, clip.name), masks,
                                     masks.shape[1:]).items():
                hits[g].append(v)
        if progress is not None:
            progress(1)
    out = dict(split=split, root=osp.abspath(root), settings=cfg,
               clips=per_clip,
               mean=mean_jf({n: c['objects'] for n, c in per_clip.items()}))
    if have_points:
        out['points'] = {}
        for g, v in hits.items():
            h = np.concatenate([x[0] for x in v])
            c = np.concatenate([x[1] for x in v])
            out['points'][g] = dict(acc=float(h.mean()) if h.size else math.nan,
                                    hits=int(h.sum()), points=int(h.size),
                                    chance=float(c.mean()) if c.size else math.nan)
    return out
