"""Exact ground-truth correspondence benchmark: score an embedding on a pair set.

For every pair of an :class:`~pico_mm.evaluation.exact_gt_pairs.ExactPairSet` the
probe of :mod:`pico_mm.evaluation.correspondence_probe` is run (bilinear feature at
``src``, cosine nearest neighbour over all cells of the other frame, hit when that
cell's centre is within ``r`` feature cells of the true ``dst``). Only points that
moved more than the radius (``|dst - src| > r`` cells) are scored, so features that
only encode position cannot score. Reported per kind present (``rigid``,
``nonrigid``; ``stereo``) and over all of them (``all``), at every radius, beside the chance level (random cell) and the
no-motion baseline (the cell at ``src``).

Pure torch/numpy: no mmengine.
"""
import math
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .correspondence_probe import (ProbePair, cell_size, embed_pairs,
                                   point_results, summarize)
from .exact_gt_pairs import ALL_KINDS, KINDS, ExactPairSet

__all__ = [
    'score_pair_features', 'run_exact_gt', 'exact_gt_columns', 'headline',
    'format_table', 'mean_std'
]

#: Groups of the val/test splits (the kinds present, then ``all``).
GROUPS = KINDS + ('all', )


def score_pair_features(items: Iterable[Tuple[ProbePair, torch.Tensor, torch.Tensor]],
                        radii_cells: Sequence[float] = (1, 2)) -> dict:
    """Scores from per-pair embeddings.

    Args:
        items: ``(pair, feat_a C×h×w, feat_b C×h×w)`` triples; a pair's
            ``kind`` attribute (one of ``ALL_KINDS``, default ``'rigid'``)
            groups it.
        radii_cells (Sequence[float]): Hit radii in feature cells.

    Returns:
        dict: ``{group: {str(r): summary}}`` for the kinds present (in the
        order ``rigid``, ``nonrigid``, ``stereo``; the first two when there is
        no pair) and ``all``; a summary has ``acc``, ``hits``, ``pairs`` (moving
        points scored), ``chance``, ``zero_motion`` (see
        :func:`pico_mm.evaluation.correspondence_probe.summarize`).
    """
    radii_cells = [float(r) for r in radii_cells]
    parts: Dict[str, List[Tuple[np.ndarray, ...]]] = {k: [] for k in ALL_KINDS}
    for pair, fa, fb in items:
        size = pair.frame_a.shape[:2]
        cell = cell_size(size, fb.shape[-2:])
        radii = [r * cell for r in radii_cells]
        res = point_results(fa, fb, pair.src, pair.dst, size, radii)
        moving = res['motion'][None] > np.asarray(radii)[:, None] + 1e-4
        parts[getattr(pair, 'kind', 'rigid')].append(
            (res['hit'], res['chance'], res['still'], moving))
    out = {}
    groups = [k for k in ALL_KINDS if parts[k]] or list(KINDS)
    groups.append('all')
    for group in groups:
        rows = [x for k in ALL_KINDS if group in (k, 'all') for x in parts[k]]
        cat = [np.concatenate(x, axis=1) for x in zip(*rows)] if rows else None
        out[group] = {}
        for i, r in enumerate(radii_cells):
            key = f'{r:g}'
            if cat is None:
                out[group][key] = summarize(np.zeros(0, bool), np.zeros(0),
                                            np.zeros(0, bool))
            else:
                hit, chance, still, moving = (a[i] for a in cat)
                out[group][key] = summarize(hit, chance, still, moving)
    return out


def run_exact_gt(embed_fn: Callable[[torch.Tensor], torch.Tensor],
                 pair_set: ExactPairSet, radii_cells: Sequence[float] = (1, 2),
                 batch_size: int = 8,
                 progress: Optional[Callable[[int], None]] = None) -> dict:
    """Score an embedding function on a pair set.

    Args:
        embed_fn: Maps an N×3×H×W uint8 BGR tensor to N×C×h×w embeddings.
        pair_set (ExactPairSet): From :func:`make_pair_set`.
        radii_cells (Sequence[float]): Hit radii in feature cells.
        batch_size (int): Pairs per forward pass (2 images each).
        progress (callable, optional): Called with the number of pairs done.

    Returns:
        dict: ``pair_set`` (its identity: split, seed, version, fingerprint...),
        ``radii_cells`` and ``scores`` (see :func:`score_pair_features`).
    """
    items = embed_pairs(embed_fn, pair_set.pairs, batch_size, progress)
    return dict(pair_set=pair_set.describe(),
                radii_cells=[float(r) for r in radii_cells],
                scores=score_pair_features(items, radii_cells))


def exact_gt_columns(res: dict, key: str = 'acc') -> Dict[str, float]:
    """``{'rigid@1': v, 'nonrigid@1': v, 'all@1': v, 'rigid@2': ...}`` of a result.

    Groups are those of the result (``stereo@1``, ``all@1``, ... for the stereo
    split); a group with no moving point gives NaN.
    """
    cols = {}
    for r in res['radii_cells']:
        for group in res['scores']:
            cols[f'{group}@{r:g}'] = res['scores'][group][f'{r:g}'][key]
    return cols


def headline(res: dict) -> float:
    """Accuracy on both kinds at the smallest radius (the benchmark's one number)."""
    r = min(res['radii_cells'])
    return res['scores']['all'][f'{r:g}']['acc']


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for one value; NaNs ignored)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)],
                   np.float64)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def _cell(value: Union[float, Sequence[float]], width: int) -> str:
    if isinstance(value, (list, tuple)):
        m, s = mean_std(value)
        same = len(set(value)) == 1  # e.g. chance: one value for every seed
        text = f'{m:.4f}' if same or not math.isfinite(m) else f'{m:.3f}±{s:.3f}'
    else:
        text = 'n/a' if value is None or not math.isfinite(value) else f'{value:.4f}'
    return f'{text:>{width}s}'


def format_table(rows: Dict[str, Dict[str, Union[float, Sequence[float]]]],
                 notes: Optional[Dict[str, str]] = None,
                 first: str = 'model') -> str:
    """Plain-text table: one row per name, one column per key of the first row.

    Args:
        rows (dict): ``{row name: {column: value}}``; a value that is a list of
            floats (one per seed) is shown as ``mean±std``.
        notes (dict, optional): ``{row name: text}`` appended after the row.
        first (str): Header of the name column.

    Returns:
        str: The table (no trailing newline).
    """
    if not rows:
        return '(no results)'
    cols = list(next(iter(rows.values())))
    multi = any(isinstance(v, (list, tuple)) and len(v) > 1
                for r in rows.values() for v in r.values())
    width = max([13 if multi else 9] + [len(c) for c in cols])
    name_w = max([15, len(first)] + [len(n) for n in rows])
    head = f'{first:<{name_w}s} ' + ' '.join(f'{c:>{width}s}' for c in cols)
    lines = [head, '-' * len(head)]
    for name, vals in rows.items():
        line = f'{name:<{name_w}s} ' + ' '.join(
            _cell(vals.get(c, math.nan), width) for c in cols)
        if notes and name in notes:
            line += f'   {notes[name]}'
        lines.append(line)
    return '\n'.join(lines)
