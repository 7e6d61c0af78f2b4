"""Multi-seed comparison of init / Static(Frame) / Static(Video) / PiCo.

One seed = one initial network, every arm trained from it with the same budget and
data (:mod:`pico_mm.demo.arms`), then all scored on the exact-GT val and test splits
and on the tracks probe (moving points). With an *encoder* the initial network's
backbone comes from a checkpoint (or from a Static(Frame) run of ``encoder_iters``
trained first, per seed) and is frozen: each arm trains only decoder + head.

Used by ``tools/analysis/compare_samplers.py``; the aggregation is pure python.
"""
import math
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pico_mm.evaluation import headline, mean_std

from . import arms as A
from . import report
from .stages import write_json

__all__ = ['ARM_CHOICES', 'pretrain_encoder', 'train_seed', 'run_seed', 'aggregate', 'headline_stats',
           'goal_check', 'format_report', 'write_json']

#: CLI names of the trained arms → ``(display name, frame_sampler)``.
ARM_CHOICES = {'static_frame': A.ARMS[0], 'static_video': A.ARMS[1],
               'pico': A.ARMS[2]}
STATIC = ('Static(Frame)', 'Static(Video)')


def pretrain_encoder(seed_dir: str, base_config: str, data: 'A.DataSpec',
                     budget: 'A.Budget', iters: int, seed: int, threads: int = 2,
                     report_fn: Callable[[str], None] = print) -> Tuple[str, float]:
    """Pre-train the whole network by Static(Frame) for ``iters`` iterations.

    Writes ``seed_dir/encoder_init.pth``, ``seed_dir/configs/encoder*.py`` and
    ``seed_dir/train/encoder``; ``data.probe_tracks`` is ignored (no hook).

    Returns:
        tuple: ``(checkpoint path, seconds)``.
    """
    data = A.DataSpec(data.train_list, data.video_root, data.track_dir)
    pre = A.Budget(iters, budget.batch, budget.k, 0)
    common0 = A.common_overrides(data, pre, seed)
    init0, _ = A.make_init(osp.join(seed_dir, 'configs', 'encoder_init.py'),
                           base_config, common0, seed,
                           osp.join(seed_dir, 'encoder_init.pth'))
    ckpt, secs = A.train_arm(
        'encoder: Static(Frame)', 'static_frame',
        osp.join(seed_dir, 'train', 'encoder'),
        osp.join(seed_dir, 'configs', 'encoder.py'), base_config, common0,
        init0, threads)
    report_fn(f'encoder pre-trained by Static(Frame) (seed {seed}), {iters} '
              f'iterations in {secs:.0f} s: {ckpt}')
    return ckpt, secs


def train_seed(seed: int, seed_dir: str, base_config: str, data: 'A.DataSpec',
               budget: 'A.Budget', arms: Sequence[Tuple[str, str]],
               encoder_ckpt: Optional[str] = None, threads: int = 2,
               report_fn: Callable[[str], None] = print,
               extra_hooks: Sequence[dict] = ()) -> tuple:
    """Build one initial network (frozen ``encoder_ckpt`` backbone if given) and
    train every arm from it.

    Returns:
        tuple: ``(ckpts, model, runs)``: ``{name: checkpoint}`` with ``init``
        first, the initial model (for scoring), and ``train_arms``' result.
    """
    model_over = (dict(freeze_backbone=True, backbone_checkpoint=encoder_ckpt)
                  if encoder_ckpt else None)
    common = A.common_overrides(data, budget, seed, model=model_over,
                                extra_hooks=extra_hooks)
    init_ckpt, model = A.make_init(osp.join(seed_dir, 'configs', 'init.py'),
                                   base_config, common, seed,
                                   osp.join(seed_dir, 'init.pth'))
    runs = A.train_arms(seed_dir, base_config, common, init_ckpt, arms, threads,
                        report=report_fn)
    ckpts = dict(init=init_ckpt, **{n: r['ckpt'] for n, r in runs.items()})
    return ckpts, model, runs


def run_seed(seed: int, seed_dir: str, base_config: str, data: 'A.DataSpec',
             budget: 'A.Budget', arms: Sequence[Tuple[str, str]],
             track_pairs: Sequence, pair_sets: Dict[str, object],
             encoder: Optional[str] = None, encoder_iters: int = 0,
             threads: int = 2, report_fn: Callable[[str], None] = print) -> dict:
    """Train and score every arm for one seed.

    Args:
        seed (int): Seed of the initial network and of training.
        seed_dir (str): Output folder of this seed.
        base_config (str): Base training config.
        data (DataSpec): Training data (``probe_tracks`` empty: no hook).
        budget (Budget): Budget of every arm.
        arms (Sequence): ``(name, frame_sampler)`` of the trained arms.
        track_pairs (Sequence[ProbePair]): Tracks-probe pairs.
        pair_sets (dict): ``{split: ExactPairSet}``.
        encoder (str, optional): None (train everything), ``'static_frame'``
            (pre-train an encoder by Static(Frame) for ``encoder_iters``, then
            freeze it) or a checkpoint path whose backbone is frozen.
        encoder_iters (int): Iterations of the encoder pre-training.
        threads (int): CPU threads per training run.
        report_fn (callable): Receives one-line progress summaries.

    Returns:
        dict: ``seed``, ``encoder`` (checkpoint or None), ``results``
        (``{model: dict(tracks, exact_gt)}``, init first), ``seconds`` (per
        training run and for the probes).
    """
    seconds = {}
    enc_ckpt = None
    if encoder == 'static_frame':
        enc_ckpt, seconds['encoder'] = pretrain_encoder(
            seed_dir, base_config, data, budget, encoder_iters, seed, threads,
            report_fn)
    elif encoder:
        enc_ckpt = osp.abspath(encoder)
    ckpts, model, runs = train_seed(seed, seed_dir, base_config, data, budget,
                                    arms, enc_ckpt, threads, report_fn)
    seconds.update({n: r['seconds'] for n, r in runs.items()})
    t0 = time.time()
    results, _ = report.score_models(model, ckpts, track_pairs, pair_sets)
    seconds['probes'] = time.time() - t0
    return dict(seed=seed, encoder=enc_ckpt, results=results, seconds=seconds)


def aggregate(per_seed: List[dict]) -> dict:
    """Regroup per-seed results as ``{'tracks': {model: [..]}, 'exact_gt':
    {split: {model: [..]}}}`` (lists over seeds, model order of the first)."""
    names = list(per_seed[0]['results'])
    tracks = {n: [s['results'][n]['tracks'] for s in per_seed]
              for n in names if per_seed[0]['results'][n]['tracks']}
    splits = list(per_seed[0]['results'][names[0]]['exact_gt'])
    exact = {sp: {n: [s['results'][n]['exact_gt'][sp] for s in per_seed]
                  for n in names} for sp in splits}
    return dict(tracks=tracks, exact_gt=exact)


def headline_stats(agg: dict) -> dict:
    """Per model: the headline numbers per seed, mean and std.

    Returns:
        dict: ``{metric: {model: dict(values, mean, std)}}`` with metrics
        ``exact_gt/<split>`` (both kinds, smallest radius) and ``tracks/moving``.
    """
    out = {}
    for split, models in agg['exact_gt'].items():
        out[f'exact_gt/{split}'] = {n: _stats([headline(r) for r in runs])
                                    for n, runs in models.items()}
    if agg['tracks']:
        out['tracks/moving'] = {n: _stats([r['acc'] for r in runs])
                                for n, runs in agg['tracks'].items()}
    return out


def _stats(values: List[float]) -> dict:
    m, s = mean_std(values)
    return dict(values=values, mean=m, std=s)


def goal_check(stats: dict, metric: str = 'exact_gt/test') -> List[str]:
    """The issue's goal on one metric, as printable lines with the numbers.

    PiCo must lead each static baseline by >= 0.02 and by more than two standard
    deviations of the per-seed (paired) difference, and lead init by >= 0.10.
    """
    if metric not in stats or 'PiCo' not in stats[metric]:
        return [f'goal: not checked ({metric} or PiCo missing)']
    rows = stats[metric]
    pico = rows['PiCo']['values']
    lines = []
    for other, need in [(n, 0.02) for n in STATIC if n in rows] + [('init', 0.10)]:
        if other not in rows:
            continue
        diffs = [a - b for a, b in zip(pico, rows[other]['values'])
                 if math.isfinite(a) and math.isfinite(b)]
        m, s = mean_std(diffs)
        ok = m >= need and (other == 'init' or (len(diffs) > 1 and m > 2 * s))
        rule = (f'>= {need:.2f}' if other == 'init' else
                f'>= {need:.2f} and > 2 std')
        lines.append(f'PiCo - {other:<13s} {m:+.4f} ± {s:.4f} over {len(diffs)} '
                     f'seed(s) (need {rule}): {"MET" if ok else "not met"}')
    return lines


def format_report(per_seed: List[dict]) -> str:
    """All tables (mean ± std over seeds) and the goal check."""
    agg = aggregate(per_seed)
    seeds = [s['seed'] for s in per_seed]
    parts = [f'{len(seeds)} seed(s): {seeds}; values are mean±std over seeds']
    for split, models in agg['exact_gt'].items():
        parts.append(report.exact_gt_table(models))
    if agg['tracks']:
        parts.append(report.tracks_table(agg['tracks']))
    stats = headline_stats(agg)
    split = 'test' if 'exact_gt/test' in stats else 'val'
    parts.append(f'Goal on the exact-GT {split} split (all@1):\n' +
                 '\n'.join(goal_check(stats, f'exact_gt/{split}')))
    return '\n\n'.join(parts)
