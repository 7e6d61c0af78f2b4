"""Correspondence probe (the B5 probe): nearest-neighbour point matching in dense features.

For tracked point pairs ``src`` (frame A) → ``dst`` (frame B), each source point's
feature is sampled bilinearly from frame A's dense embedding; its nearest neighbour
(cosine similarity) is searched over **all** cells of frame B's embedding; the pair is
a hit when that cell's centre lies within ``radius`` pixels of the true ``dst`` point.
The radius defaults to one feature cell (``stride`` pixels).

Coordinates follow docs/contracts.md: ``(x, y)`` pixel-index coordinates, the centre of
``img[r, c]`` is ``(c, r)``; a map of ``h×w`` cells over an ``H×W`` image is sampled with
``grid_sample(align_corners=False)``, so the centre of cell ``(i, j)`` is at image point
``((j + 0.5) * W / w - 0.5, (i + 0.5) * H / h - 0.5)``.

Pure torch: no mmengine / mmcv.
"""
import math
from dataclasses import dataclass
from typing import (Callable, Iterable, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    'ProbePair', 'cell_centres', 'sample_features', 'match_points',
    'correspondence_accuracy', 'chance_accuracy', 'zero_motion_hits',
    'cell_size', 'point_results', 'summarize', 'embed_pairs', 'run_probe',
    'probe_pairs_from_tracks'
]

ArrayLike = Union[np.ndarray, torch.Tensor]


@dataclass
class ProbePair:
    """One probe item: two frames and point correspondences between them.

    Args:
        frame_a (np.ndarray): uint8 H×W×3 BGR source frame.
        frame_b (np.ndarray): uint8 H×W×3 BGR target frame (same size).
        src (np.ndarray): M×2 float32 ``(x, y)`` points in ``frame_a``.
        dst (np.ndarray): M×2 float32 matching points in ``frame_b``.
    """
    frame_a: np.ndarray
    frame_b: np.ndarray
    src: np.ndarray
    dst: np.ndarray


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def cell_centres(h: int, w: int, image_size: Tuple[int, int],
                 device=None) -> torch.Tensor:
    """Image coordinates of the centres of an ``h×w`` feature map's cells.

    Args:
        h (int): Feature map height.
        w (int): Feature map width.
        image_size (tuple[int, int]): ``(H, W)`` of the image the map covers.

    Returns:
        torch.Tensor: (h·w)×2 float32 ``(x, y)`` centres, row-major cell order.
    """
    H, W = image_size
    xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * W / w - 0.5
    ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * H / h - 0.5
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def sample_features(feat: torch.Tensor, points: torch.Tensor,
                    image_size: Tuple[int, int]) -> torch.Tensor:
    """Bilinearly sample a C×h×w map at M image points.

    Args:
        feat (torch.Tensor): C×h×w feature map.
        points (torch.Tensor): M×2 ``(x, y)`` image points.
        image_size (tuple[int, int]): ``(H, W)`` of the image.

    Returns:
        torch.Tensor: M×C sampled features.
    """
    H, W = image_size
    pts = points.to(feat.dtype)
    grid = torch.stack([(pts[:, 0] + 0.5) / W * 2 - 1,
                        (pts[:, 1] + 0.5) / H * 2 - 1], dim=-1)
    out = F.grid_sample(feat[None], grid[None, None], mode='bilinear',
                        padding_mode='border', align_corners=False)
    return out[0, :, 0].t()


def match_points(feat_a: torch.Tensor, feat_b: torch.Tensor,
                 src: torch.Tensor, image_size: Tuple[int, int],
                 chunk: int = 4096) -> torch.Tensor:
    """Nearest neighbour (cosine) of each source point over all cells of frame B.

    Args:
        feat_a (torch.Tensor): C×h×w embedding of frame A.
        feat_b (torch.Tensor): C×h'×w' embedding of frame B.
        src (torch.Tensor): M×2 source points in frame A.
        image_size (tuple[int, int]): ``(H, W)`` of both frames.
        chunk (int): Points processed at once (bounds the M×(h'w') similarity).

    Returns:
        torch.Tensor: M×2 image coordinates of the matched cell centres in frame B.
    """
    q = F.normalize(sample_features(feat_a.float(), src, image_size), dim=1)
    c, h, w = feat_b.shape
    keys = F.normalize(feat_b.float().reshape(c, h * w), dim=0)
    centres = cell_centres(h, w, image_size, device=feat_b.device)
    idx = [torch.argmax(q[i:i + chunk] @ keys, dim=1)
           for i in range(0, q.shape[0], chunk)]
    idx = torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)
    return centres[idx]


def cell_size(image_size: Tuple[int, int], feat_size: Tuple[int, int]) -> float:
    """Size of one feature cell in pixels: ``max(H / h, W / w)``."""
    return max(image_size[0] / feat_size[0], image_size[1] / feat_size[1])


def point_results(feat_a: ArrayLike, feat_b: ArrayLike, src: ArrayLike,
                  dst: ArrayLike, image_size: Tuple[int, int],
                  radii: Sequence[float]) -> dict:
    """Per-point outcome of the probe on one frame pair, for several radii.

    Args:
        feat_a: C×h×w embedding of frame A.
        feat_b: C×h×w embedding of frame B.
        src: M×2 ``(x, y)`` points in frame A (rows with NaN are dropped).
        dst: M×2 true matching points in frame B.
        image_size (tuple[int, int]): ``(H, W)`` of the frames.
        radii (Sequence[float]): R hit radii in pixels.

    Returns:
        dict: numpy arrays over the M' valid points: ``hit`` R×M' bool (matched cell
        within the radius of ``dst``), ``chance`` R×M' float (fraction of B's cells
        within the radius of ``dst``: a random match's hit probability), ``still``
        R×M' bool (the cell nearest ``src`` is within the radius: the "no motion"
        prediction hits), ``motion`` M' float (``|dst - src|`` in pixels).
    """
    feat_a, feat_b = _as_tensor(feat_a), _as_tensor(feat_b)
    src = _as_tensor(src).float().reshape(-1, 2).to(feat_a.device)
    dst = _as_tensor(dst).float().reshape(-1, 2).to(feat_a.device)
    ok = torch.isfinite(src).all(1) & torch.isfinite(dst).all(1)
    src, dst = src[ok], dst[ok]
    R, M = len(radii), src.shape[0]
    if M == 0:
        return dict(hit=np.zeros((R, 0), bool), chance=np.zeros((R, 0)),
                    still=np.zeros((R, 0), bool), motion=np.zeros(0))
    rad = torch.tensor([float(r) for r in radii], device=src.device)[:, None]
    pred = match_points(feat_a, feat_b, src, image_size)
    hit = (pred - dst).norm(dim=1)[None] <= rad + 1e-4
    centres = cell_centres(*feat_b.shape[-2:], image_size, device=src.device)
    d_dst = torch.cdist(dst, centres)  # M×(h·w)
    chance = (d_dst[None] <= rad[:, :, None] + 1e-4).float().mean(2)
    nearest = centres[torch.cdist(src, centres).argmin(1)]
    still = (nearest - dst).norm(dim=1)[None] <= rad + 1e-4
    return dict(hit=hit.cpu().numpy(), chance=chance.cpu().numpy().astype(np.float64),
                still=still.cpu().numpy(),
                motion=(dst - src).norm(dim=1).cpu().numpy().astype(np.float64))


def summarize(hit: np.ndarray, chance: np.ndarray, still: np.ndarray,
              mask: Optional[np.ndarray] = None) -> dict:
    """Accuracy of a subset of points (see :func:`point_results`).

    Args:
        hit, chance, still: 1-D arrays over points (one radius).
        mask (np.ndarray, optional): Bool subset; None = all points.

    Returns:
        dict: ``acc`` (NaN when empty), ``hits``, ``pairs`` (points scored),
        ``chance`` and ``zero_motion`` (accuracy of predicting no motion).
    """
    if mask is not None:
        hit, chance, still = hit[mask], chance[mask], still[mask]
    n = int(hit.size)
    if n == 0:
        return dict(acc=math.nan, hits=0, pairs=0, chance=math.nan,
                    zero_motion=math.nan)
    return dict(acc=float(hit.mean()), hits=int(hit.sum()), pairs=n,
                chance=float(chance.mean()), zero_motion=float(still.mean()))


def correspondence_accuracy(feat_a: ArrayLike,
                            feat_b: ArrayLike,
                            src: ArrayLike,
                            dst: ArrayLike,
                            image_size: Tuple[int, int],
                            radius: Optional[float] = None) -> Tuple[int, int]:
    """Hits and valid pairs of the probe on one frame pair.

    Args:
        feat_a: C×h×w embedding of frame A.
        feat_b: C×h×w embedding of frame B.
        src: M×2 ``(x, y)`` points in frame A (rows with NaN are ignored).
        dst: M×2 true matching points in frame B.
        image_size (tuple[int, int]): ``(H, W)`` of the frames.
        radius (float, optional): Hit radius in pixels. Defaults to one feature cell
            (``max(H / h, W / w)`` px).

    Returns:
        tuple[int, int]: ``(hits, pairs)``.
    """
    feat_b = _as_tensor(feat_b)
    if radius is None:
        radius = cell_size(image_size, feat_b.shape[-2:])
    res = point_results(feat_a, feat_b, src, dst, image_size, [radius])
    return int(res['hit'].sum()), int(res['motion'].size)


def chance_accuracy(image_size: Tuple[int, int], feat_size: Tuple[int, int],
                    radius: Optional[float] = None,
                    dst: Optional[ArrayLike] = None) -> float:
    """Expected accuracy of a uniformly random match (the probe's chance level).

    Args:
        image_size (tuple[int, int]): ``(H, W)`` of the frames.
        feat_size (tuple[int, int]): ``(h, w)`` of the embedding.
        radius (float, optional): Hit radius; defaults as in
            :func:`correspondence_accuracy`.
        dst (array, optional): M×2 target points; defaults to every cell centre.

    Returns:
        float: Mean fraction of cells whose centre lies within ``radius`` of a target.
    """
    h, w = feat_size
    if radius is None:
        radius = max(image_size[0] / h, image_size[1] / w)
    centres = cell_centres(h, w, image_size)
    dst = centres if dst is None else _as_tensor(dst).float().reshape(-1, 2)
    d = torch.cdist(dst, centres)
    return float((d <= radius + 1e-4).float().mean())


def zero_motion_hits(src: ArrayLike, dst: ArrayLike, image_size: Tuple[int, int],
                     feat_size: Tuple[int, int],
                     radius: Optional[float] = None) -> Tuple[int, int]:
    """Hits of a 'no motion' predictor: the cell nearest to ``src`` itself.

    This is what features that only encode position would score, so it tells how
    much of an accuracy is explained by small motion alone.

    Returns:
        tuple[int, int]: ``(hits, pairs)`` over the rows without NaN.
    """
    src = _as_tensor(src).float().reshape(-1, 2)
    dst = _as_tensor(dst).float().reshape(-1, 2)
    ok = torch.isfinite(src).all(1) & torch.isfinite(dst).all(1)
    src, dst = src[ok], dst[ok]
    h, w = feat_size
    if radius is None:
        radius = max(image_size[0] / h, image_size[1] / w)
    centres = cell_centres(h, w, image_size)
    nearest = centres[torch.cdist(src, centres).argmin(1)] if len(src) else src
    hits = ((nearest - dst).norm(dim=1) <= radius + 1e-4).sum()
    return int(hits), int(src.shape[0])


def embed_pairs(embed_fn: Callable[[torch.Tensor], torch.Tensor],
                pairs: Sequence[ProbePair], batch_size: int = 8,
                progress: Optional[Callable[[int], None]] = None
                ) -> Iterator[Tuple[ProbePair, torch.Tensor, torch.Tensor]]:
    """Embed the frames of probe pairs in batches (under ``torch.no_grad``).

    Args:
        embed_fn: Maps an N×3×H×W uint8 BGR tensor to N×C×h×w embeddings.
        pairs (Sequence[ProbePair]): Pairs; frames of one batch must share a size.
        batch_size (int): Frame pairs per call (2 images each).
        progress (callable, optional): Called with the number of pairs done.

    Yields:
        tuple: ``(pair, feat_a C×h×w, feat_b C×h×w)``.
    """
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i:i + batch_size]
            imgs = [p.frame_a for p in chunk] + [p.frame_b for p in chunk]
            batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)
            emb = embed_fn(batch.contiguous())
            n = len(chunk)
            for j, p in enumerate(chunk):
                yield p, emb[j], emb[n + j]
            if progress is not None:
                progress(n)


def run_probe(embed_fn: Callable[[torch.Tensor], torch.Tensor],
              pairs: Iterable[ProbePair],
              radius: Optional[float] = None,
              batch_size: int = 8) -> dict:
    """Run the probe with a model over frame pairs; moving points are the headline.

    A point *moved* when ``|dst - src|`` exceeds the hit radius. On static points
    features that only encode position (or "predict no motion") score perfectly, so
    the headline accuracy counts only the points that moved.

    Args:
        embed_fn: Maps an N×3×H×W uint8 BGR tensor to N×C×h×w embeddings.
        pairs (Iterable[ProbePair]): Probe items.
        radius (float, optional): Hit radius in pixels (default one cell).
        batch_size (int): Frame pairs embedded per call (2 images each).

    Returns:
        dict: headline over the moving points: ``acc`` (NaN if none), ``hits``,
        ``pairs`` (points scored), ``chance`` (expected accuracy of random matching
        on the same points), ``zero_motion`` (accuracy of predicting no motion, see
        :func:`zero_motion_hits`); the same five keys for every subset under
        ``moving``, ``all`` and ``static``.
    """
    parts = []
    for p, fa, fb in embed_pairs(embed_fn, list(pairs), batch_size):
        size = p.frame_a.shape[:2]
        r = cell_size(size, fb.shape[-2:]) if radius is None else radius
        res = point_results(fa, fb, p.src, p.dst, size, [r])
        parts.append((res['hit'][0], res['chance'][0], res['still'][0],
                      res['motion'] > r + 1e-4))
    if parts:
        hit, chance, still, moving = (np.concatenate(x) for x in zip(*parts))
    else:
        hit, chance, still, moving = (np.zeros(0, bool), ) * 4
    out = dict(moving=summarize(hit, chance, still, moving),
               all=summarize(hit, chance, still),
               static=summarize(hit, chance, still, ~moving))
    return dict(out['moving'], **out)


def _video_frames(meta: dict, indices, source_root: Optional[str]):
    """Frames ``indices`` of a track file's video, as the flow extractor saw them."""
    import os.path as osp

    from pico_mm.flow import load_frames, load_store_frames
    flow_path = meta.get('flow_path')
    if flow_path and osp.isfile(flow_path):
        return load_store_frames(flow_path, indices, source_root=source_root)
    src = meta['source']
    if source_root and not osp.isabs(src):
        src = osp.join(source_root, src)
    off = int(meta.get('frame_offset', 0) or 0)
    return load_frames(src, [i + off for i in indices], fps=meta.get('fps', 30),
                       short_side=meta.get('short_side', 256),
                       source_fps=meta.get('source_fps_override'))


def probe_pairs_from_tracks(track_files: Sequence[str],
                            gap: int = 15,
                            pairs_per_video: int = 4,
                            points_per_pair: int = 256,
                            seed: int = 0,
                            alpha: Optional[float] = None,
                            beta: Optional[float] = None,
                            source_root: Optional[str] = None) -> List[ProbePair]:
    """Build probe items from held-out videos' track files.

    For each video, ``pairs_per_video`` source frames ``a`` are spread evenly over
    ``[0, T-1-gap]``; the target frame is ``a + gap``; the points are the tracks alive
    on both (tracks are contiguous, so they were followed through every frame between),
    randomly subsampled to ``points_per_pair``. Deterministic for a given ``seed``.

    Args:
        track_files (Sequence[str]): ``.npz`` files from ``tools/data/track_points.py``.
        gap (int): Frames between source and target (clamped to ``T - 1``).
        pairs_per_video (int): Frame pairs per video.
        points_per_pair (int): Maximum points per pair.
        seed (int): Seed of the point subsampling.
        alpha, beta (float, optional): Stricter consistency thresholds at load time.
        source_root (str, optional): Folder to resolve relative video paths against.

    Returns:
        list[ProbePair]: Frames are uint8 H×W×3 BGR as the flow extractor saw them.
    """
    from pico_mm.tracking import load_tracks
    rng = np.random.default_rng(seed)
    pairs = []
    for path in track_files:
        tracks = load_tracks(path, alpha=alpha, beta=beta)
        alive, xy = tracks.alive, tracks.xy
        T = alive.shape[1]
        if T < 2:
            continue
        g = max(1, min(gap, T - 1))
        starts = np.unique(np.linspace(0, T - 1 - g, pairs_per_video).round()
                           .astype(int))
        chosen = []
        for a in starts:
            ids = np.flatnonzero(alive[:, a] & alive[:, a + g])
            if ids.size == 0:
                continue
            if ids.size > points_per_pair:
                ids = np.sort(rng.choice(ids, points_per_pair, replace=False))
            chosen.append((int(a), xy[ids, a], xy[ids, a + g]))
        if not chosen:
            continue
        idx = sorted({a for a, _, _ in chosen} | {a + g for a, _, _ in chosen})
        frames = dict(zip(idx, _video_frames(tracks.meta, idx, source_root)))
        for a, src, dst in chosen:
            pairs.append(ProbePair(frames[a], frames[a + g],
                                   src.astype(np.float32), dst.astype(np.float32)))
    return pairs
