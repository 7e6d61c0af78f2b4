"""DAVIS region (J) and boundary (F) measures, as in the DAVIS-2017 toolkit.

* **J**: intersection over union of the object's predicted and true masks (1 when
  both are empty). Void pixels (id 255) are ignored.
* **F**: boundary F-measure. Boundaries are one-pixel maps (``seg2bmap``: a pixel
  whose right, lower or lower-right neighbour differs); a boundary pixel matches
  when the other boundary lies within a disk of ``ceil(0.008 × image diagonal)``
  pixels (dilation); precision, recall, ``F = 2PR / (P + R)``; both empty: 1.
* Per object: the mean over frames ``1 .. T-2`` (the toolkit drops the first frame,
  which is given, and the last); the benchmark's J, F are the means over all
  objects of all clips and ``J&F = (J + F) / 2``.

Pure numpy/cv2 (dilation of a binary map, an integer operation).
"""
import math
from typing import Dict, Optional, Sequence

import cv2
import numpy as np

__all__ = ['region_j', 'seg2bmap', 'disk', 'boundary_f', 'clip_jf',
           'mean_jf', 'VOID']

VOID = 255


def region_j(pred: np.ndarray, gt: np.ndarray,
             void: Optional[np.ndarray] = None) -> float:
    """IoU of two H×W bool masks (1.0 when both are empty)."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    if void is not None:
        pred, gt = pred & ~void, gt & ~void
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred & gt) / union


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of an H×W bool mask (the toolkit's rule)."""
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """uint8 (2r+1)×(2r+1) disk ``x^2 + y^2 <= r^2`` (skimage.morphology.disk)."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_f(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008,
               void: Optional[np.ndarray] = None) -> float:
    """Boundary F-measure of two H×W bool masks.

    Args:
        pred (np.ndarray): Predicted mask.
        gt (np.ndarray): True mask.
        bound_th (float): Tolerance: a fraction of the image diagonal (< 1) or
            pixels (>= 1).
        void (np.ndarray, optional): Pixels to ignore.

    Returns:
        float: F in [0, 1].
    """
    pred, gt = pred.astype(bool), gt.astype(bool)
    if void is not None:
        pred, gt = pred & ~void, gt & ~void
    h, w = gt.shape
    bound_pix = bound_th if bound_th >= 1 else math.ceil(
        bound_th * math.hypot(h, w))
    fg_b, gt_b = seg2bmap(pred), seg2bmap(gt)
    kernel = disk(int(bound_pix))
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), kernel) > 0
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel) > 0
    n_fg, n_gt = np.count_nonzero(fg_b), np.count_nonzero(gt_b)
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision 1, recall 0 (or the reverse): F = 0
    precision = np.count_nonzero(fg_b & gt_dil) / n_fg
    recall = np.count_nonzero(gt_b & fg_dil) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def clip_jf(pred: np.ndarray, gt: np.ndarray,
            obj_ids: Optional[Sequence[int]] = None,
            bound_th: float = 0.008) -> Dict[int, Dict[str, float]]:
    """Per-object J, F and J&F of a clip.

    Args:
        pred (np.ndarray): uint8 T×H×W predicted object ids.
        gt (np.ndarray): uint8 T×H×W true ids (255 = void).
        obj_ids (Sequence[int], optional): Objects to score; default the ids of
            the first true frame.
        bound_th (float): F tolerance (see :func:`boundary_f`).

    Returns:
        dict: ``{obj_id: {'J', 'F', 'J&F'}}``, means over frames ``1..T-2``
        (``1..T-1`` for clips of fewer than 3 frames).
    """
    if obj_ids is None:
        obj_ids = [int(i) for i in np.unique(gt[0]) if i not in (0, VOID)]
    T = gt.shape[0]
    frames = range(1, T - 1) if T >= 3 else range(1, T)
    out = {}
    for k in obj_ids:
        js, fs = [], []
        for t in frames:
            void = gt[t] == VOID
            js.append(region_j(pred[t] == k, gt[t] == k, void))
            fs.append(boundary_f(pred[t] == k, gt[t] == k, bound_th, void))
        j = float(np.mean(js)) if js else math.nan
        f = float(np.mean(fs)) if fs else math.nan
        out[int(k)] = {'J': j, 'F': f, 'J&F': (j + f) / 2}
    return out


def mean_jf(per_clip: Dict[str, Dict[int, Dict[str, float]]]) -> Dict[str, float]:
    """Benchmark J, F, J&F: means over all objects of all clips."""
    objs = [o for c in per_clip.values() for o in c.values()]
    if not objs:
        return {'J': math.nan, 'F': math.nan, 'J&F': math.nan, 'objects': 0}
    j = float(np.mean([o['J'] for o in objs]))
    f = float(np.mean([o['F'] for o in objs]))
    return {'J': j, 'F': f, 'J&F': (j + f) / 2, 'objects': len(objs)}
