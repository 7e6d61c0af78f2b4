"""How far a sample's correspondence pairs are from one homography.

PiCo's claim is that tracked pairs teach what crops of one image cannot. If the
two views' pairs of a sample all follow one homography (camera motion of a
distant scene, a pan), the pair set is "crop-like": a random crop pair of one
frame gives the same geometry. For each sample a homography is fitted to its
pairs with RANSAC (``cv2.findHomography``, reprojection threshold = one feature
cell) and the fraction of pairs whose reprojection error exceeds one cell is
reported: 0 for any crop/flip/zoom of one frame, larger for parallax,
independently moving or deforming objects (and for tracking errors).

Pure numpy/cv2.
"""
from typing import Dict, Iterable, List, Optional, Tuple

import cv2
import numpy as np

__all__ = ['homography_residuals', 'fraction_off_homography',
           'summarize_off_homography']


def homography_residuals(src: np.ndarray, dst: np.ndarray,
                         threshold: float) -> Optional[np.ndarray]:
    """Reprojection error of every pair under a RANSAC homography ``src → dst``.

    Args:
        src (np.ndarray): M×2 ``(x, y)`` points of view 1.
        dst (np.ndarray): M×2 matching points of view 2.
        threshold (float): RANSAC inlier threshold in pixels.

    Returns:
        np.ndarray | None: M float64 distances ``|H(src) - dst|`` (``inf`` where
        ``H`` sends a point to infinity); None when fewer than 4 pairs or no
        homography was found (degenerate configuration).
    """
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    if len(src) != len(dst):
        raise ValueError(f'src and dst differ in length ({len(src)} vs {len(dst)})')
    if len(src) < 4:
        return None
    H, _ = cv2.findHomography(src, dst, cv2.RANSAC, float(threshold),
                              maxIters=2000, confidence=0.995)
    if H is None:
        return None
    p = np.concatenate([src, np.ones((len(src), 1))], 1) @ H.T
    with np.errstate(divide='ignore', invalid='ignore'):
        proj = p[:, :2] / p[:, 2:]
        err = np.linalg.norm(proj - dst, axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def fraction_off_homography(src: np.ndarray, dst: np.ndarray,
                            cell: float = 4.0) -> Optional[Tuple[int, int]]:
    """``(pairs off by more than one cell, pairs)`` of a sample; None below 4 pairs."""
    err = homography_residuals(src, dst, cell)
    if err is None:
        return None
    return int((err > cell).sum()), int(len(err))


def summarize_off_homography(samples: Iterable[Tuple[np.ndarray, np.ndarray]],
                             cell: float = 4.0, min_pairs: int = 8) -> Dict:
    """Off-homography fractions over samples.

    Args:
        samples: ``(src M×2, dst M×2)`` pairs of each sample (view coordinates).
        cell (float): One feature cell in pixels (threshold of fit and count).
        min_pairs (int): Samples with fewer pairs are skipped (4 pairs always
            fit a homography exactly; a few more still do nearly).

    Returns:
        dict: ``samples`` (seen), ``used``, ``few_pairs`` (skipped), ``degenerate``
        (no homography found), ``pairs`` (in used samples), ``pairs_per_sample``
        (mean), ``mean`` and ``median`` of the per-sample fraction, ``pooled``
        (all off pairs / all pairs), ``fractions`` (per used sample).
    """
    fracs: List[float] = []
    off_total = pairs_total = seen = few = degenerate = 0
    for src, dst in samples:
        seen += 1
        n = len(src)
        if n < max(4, min_pairs):
            few += 1
            continue
        res = fraction_off_homography(src, dst, cell)
        if res is None:
            degenerate += 1
            continue
        off, n = res
        fracs.append(off / n)
        off_total += off
        pairs_total += n
    f = np.asarray(fracs, np.float64)
    nan = float('nan')
    return dict(samples=seen, used=len(fracs), few_pairs=few,
                degenerate=degenerate, pairs=pairs_total,
                pairs_per_sample=pairs_total / len(fracs) if fracs else nan,
                mean=float(f.mean()) if f.size else nan,
                median=float(np.median(f)) if f.size else nan,
                pooled=off_total / pairs_total if pairs_total else nan,
                fractions=[float(x) for x in fracs])
