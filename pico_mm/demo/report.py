"""Scoring the demo's models on both probes, and their tables.

* tracks probe (B5): held-out videos' tracks; headline = points that moved more
  than one feature cell between the two frames; all and static points beside it;
* exact-GT benchmark: real photographs under known warps (moving points only).

Rows are models; a value may be a list over seeds, shown as ``mean±std``.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

from pico_mm.evaluation import (exact_gt_columns, format_table, run_exact_gt,
                                run_probe)

__all__ = ['score_models', 'tracks_rows', 'exact_gt_rows', 'tracks_table',
           'exact_gt_table', 'video_pck_rows', 'video_pck_text']

SUBSETS = ('moving', 'all', 'static')


def score_models(model, ckpts: Dict[str, str], track_pairs: Sequence,
                 pair_sets: Dict[str, object], frames: Sequence[np.ndarray] = (),
                 progress: bool = True) -> tuple:
    """Load each checkpoint into ``model`` and run both probes.

    Args:
        model: The (shared-architecture) model; weights are replaced per row.
        ckpts (dict): ``{name: checkpoint path}``.
        track_pairs (Sequence[ProbePair]): Tracks-probe pairs (may be empty).
        pair_sets (dict): ``{split: ExactPairSet}`` (may be empty).
        frames (Sequence[np.ndarray]): Frames whose embeddings are returned too
            (for the PCA picture).

    Returns:
        tuple: ``(results, feats)``: ``results[name] = dict(tracks=run_probe
        result or None, exact_gt={split: run_exact_gt result})``;
        ``feats[name]`` = list of C×h×w embeddings of ``frames``.
    """
    import torch

    from .stages import checkpoint_embedding
    items = list(ckpts.items())
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc='probes', unit='model')
    results, feats = {}, {}
    for name, ckpt in items:
        with checkpoint_embedding(model, ckpt) as embed:
            res = dict(tracks=run_probe(embed, track_pairs) if track_pairs else None,
                       exact_gt={s: run_exact_gt(embed, ps)
                                 for s, ps in pair_sets.items()})
            if len(frames):
                batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
                feats[name] = list(embed(batch.contiguous()))
        results[name] = res
    return results, feats


def _collect(runs: Sequence[dict], get) -> object:
    vals = [get(r) for r in runs]
    return vals if len(vals) > 1 else vals[0]


def tracks_rows(results: Dict[str, List[dict]]) -> Dict[str, Dict]:
    """Rows ``{model: {moving, all, static}}`` + chance / no-motion rows.

    Args:
        results (dict): ``{model: [per-seed tracks result]}``.
    """
    rows = {n: {s: _collect(runs, lambda r, s=s: r[s]['acc']) for s in SUBSETS}
            for n, runs in results.items()}
    ref = next(iter(results.values()))
    for row, key in (('chance', 'chance'), ('no motion', 'zero_motion')):
        rows[row] = {s: _collect(ref, lambda r, s=s, k=key: r[s][k])
                     for s in SUBSETS}
    return rows


def exact_gt_rows(results: Dict[str, List[dict]]) -> Dict[str, Dict]:
    """Rows ``{model: {kind@r: acc}}`` + chance / no-motion rows.

    Args:
        results (dict): ``{model: [per-seed run_exact_gt result]}``.
    """
    def cols(runs, key):
        per = [exact_gt_columns(r, key) for r in runs]
        return {c: (_collect(per, lambda p, c=c: p[c])) for c in per[0]}
    rows = {n: cols(runs, 'acc') for n, runs in results.items()}
    ref = next(iter(results.values()))
    rows['chance'] = cols(ref, 'chance')
    rows['no motion'] = cols(ref, 'zero_motion')
    return rows


_NOTES = {'chance': '(random cell)', 'no motion': '(cell at the source point: '
          'what position-only features score)'}


def tracks_table(results: Dict[str, List[dict]], title: Optional[str] = None) -> str:
    """Tracks-probe table; the title gives the point counts of the subsets."""
    ref = next(iter(results.values()))[0]
    counts = ', '.join(f'{s} {ref[s]["pairs"]}' for s in SUBSETS)
    head = title or ('Tracks probe (B5), held-out videos: nearest neighbour '
                     'within 1 feature cell; headline = points that moved more '
                     f'than 1 cell ({counts} points)')
    return head + '\n' + format_table(tracks_rows(results), _NOTES)


def exact_gt_table(results: Dict[str, List[dict]], title: Optional[str] = None) -> str:
    """Exact-GT table of one split."""
    d = next(iter(results.values()))[0]['pair_set']
    head = title or (
        f'Exact-GT correspondence ({d["split"]} split v{d["version"]}, '
        f'fingerprint {d["fingerprint"]}, {sum(d["pairs"].values())} pairs of '
        'real photographs): accuracy within r cells (kind@r), points that '
        'moved more than r cells')
    return head + '\n' + format_table(exact_gt_rows(results), _NOTES)


def video_pck_rows(model, ckpts_per_seed: Sequence[Dict[str, str]], root: str,
                   split: str = 'test') -> dict:
    """The pre-registered primary metric for every model of every seed.

    Args:
        model: The (shared-architecture) model; weights are replaced per row.
        ckpts_per_seed (Sequence[dict]): Per seed, ``{name: checkpoint}``.
        root (str): Rendered clips (``tools/data/render_clips.py`` output).
        split (str): Image set scored.

    Returns:
        dict: ``rows`` ``{name: [acc per seed]}``, ``points``, ``chance``,
        ``zero_motion`` and ``clips`` (number of clips).
    """
    from pico_mm.evaluation.video_pck import video_pck

    from .stages import checkpoint_embedding
    rows, last = {}, None
    for ckpts in ckpts_per_seed:
        for name, ckpt in ckpts.items():
            with checkpoint_embedding(model, ckpt) as embed:
                last = video_pck(embed, root, split)
            rows.setdefault(name, []).append(last['acc'])
    return dict(rows=rows, points=last['points'], chance=last['chance'],
                zero_motion=last['zero_motion'], clips=len(last['clips']))


def video_pck_text(res: dict) -> str:
    """One line per model, ``mean ± std`` over seeds, with chance and no-motion."""
    lines = [f'Video PCK@1 (the pre-registered primary metric, '
             f'docs/preregistration.md): {res["clips"]} rendered test clips, '
             f'{res["points"]} moving visible points per model, 1 feature cell']
    for name, vals in res['rows'].items():
        v = np.asarray(vals, np.float64)
        std = v.std(ddof=1) if v.size > 1 else 0.0
        lines.append(f'  {name:<14s} {v.mean():.4f} ± {std:.4f}')
    lines.append(f'  {"chance":<14s} {res["chance"]:.4f}')
    lines.append(f'  {"no motion":<14s} {res["zero_motion"]:.4f}')
    return '\n'.join(lines)
