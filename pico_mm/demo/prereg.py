"""Runs and analysis of issue 19's pre-registered experiment (docs/preregistration.md).

Driven by ``tools/analysis/prereg_experiment.py`` after its ``data`` and ``encoders``
stages. Per seed: one initial network on the frozen encoder (decoder + head from the
seed), then the four trained arms from it with the same budget and data —
Static(Frame), Static(Video), PiCo (DIS tracks) and PiCo-oracle (the renderer's exact
tracks, same sampler) — each scored with the pre-registered primary metric
(:func:`pico_mm.evaluation.video_pck.video_pck`) and optionally the secondary ones.
:func:`analyze` applies the registered contrasts and decision
(:mod:`pico_mm.evaluation.paired_stats`).
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

from . import arms as A
from . import stages as st

__all__ = ['Setting', 'ARM_ORDER', 'arm_overrides', 'run_seed', 'run_seeds',
           'load_runs', 'analyze', 'pilot_summary', 'projected_minutes',
           'pilot_log', 'score', 'load_encoder', 'load_data_info']

#: Table order; ``init`` is scored, the rest are trained.
ARM_ORDER = ('init', 'Static(Frame)', 'Static(Video)', 'PiCo', 'PiCo-oracle')
#: ``(name, frame_sampler, uses oracle tracks)`` of the trained arms.
TRAINED = (('Static(Frame)', 'static_frame', False),
           ('Static(Video)', 'static_video', False),
           ('PiCo', 'anchor', False),
           ('PiCo-oracle', 'anchor', True))
#: The registered contrasts: ``key: (arm A, arm B)`` for A − B.
CONTRASTS = {'pico_sf': ('PiCo', 'Static(Frame)'),
             'oracle_sf': ('PiCo-oracle', 'Static(Frame)'),
             'pico_sv': ('PiCo', 'Static(Video)'),
             'sf_init': ('Static(Frame)', 'init'),
             'pico_init': ('PiCo', 'init')}


class Setting(NamedTuple):
    """The pilot's grid point: iterations, view size, queue, head width, batch.

    ``lr`` (None: the base config's) and ``keep_every`` (0: only the last
    checkpoint) are for the exploratory runs outside the registered grid.
    """
    iters: int
    view: int
    queue: int
    head: int
    batch: int = 8
    lr: Optional[float] = None
    keep_every: int = 0


def _pipeline(base_config: str, view: int) -> list:
    """The base config's training pipeline with the crop size set to ``view``."""
    from mmengine.config import Config
    pipe = Config.fromfile(base_config).train_dataloader.dataset.pipeline
    pipe = [dict(t) for t in pipe]
    views = pipe[0]
    views['transforms'] = [dict(t, size=view) if t['type'] == 'PointRandomResizedCrop'
                           else dict(t) for t in views['transforms']]
    return pipe


def arm_overrides(info: dict, setting: Setting, seed: int, encoder: str,
                  base_config: str) -> dict:
    """Config keys every arm of a seed shares (frozen encoder, setting, data)."""
    data = A.DataSpec(info['train_list'], info['video_root'], info['tracks'])
    budget = A.Budget(setting.iters, setting.batch, 4, 0)
    model = dict(freeze_backbone=True, backbone_checkpoint=encoder,
                 queue_len=setting.queue, head=dict(hid_channels=setting.head))
    common = A.common_overrides(data, budget, seed, model=model)
    common['train_dataloader']['dataset']['pipeline'] = _pipeline(base_config,
                                                                  setting.view)
    if setting.lr is not None:
        common['optim_wrapper'] = dict(optimizer=dict(lr=setting.lr))
    if setting.keep_every:
        common['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=setting.keep_every, by_epoch=False,
            max_keep_ckpts=-1)
    return common


def _with_tracks(common: dict, track_dir: str) -> dict:
    dl = dict(common['train_dataloader'])
    ds = dict(dl['dataset'])
    ds['data_prefix'] = dict(ds['data_prefix'], tracks=track_dir)
    dl['dataset'] = ds
    return dict(common, train_dataloader=dl)


def score(model, ckpt: str, render_root: str, split: str,
          secondary: bool, label_prop: bool = True) -> dict:
    """Primary metric (and secondary ones) of one checkpoint loaded into ``model``.

    ``secondary``: the exact-GT image benchmark (val or test, and stereo) and,
    with ``label_prop``, label propagation on the rendered ``split``.
    """
    from pico_mm.evaluation import headline, make_pair_set, run_exact_gt
    from pico_mm.evaluation.label_propagation import label_propagation
    from pico_mm.evaluation.video_pck import video_pck
    with st.checkpoint_embedding(model, ckpt) as embed:
        out = dict(video_pck=video_pck(embed, render_root, split))
        if secondary and label_prop:
            lp = label_propagation(embed, render_root, split)
            out['label_propagation'] = dict(mean=lp['mean'],
                                            points=lp.get('points'))
        if secondary:
            out['exact_gt'] = {}
            for s in (split, 'stereo'):  # the image benchmark's split of that name
                if s not in _PAIR_SETS:
                    _PAIR_SETS[s] = make_pair_set(s)
                res = run_exact_gt(embed, _PAIR_SETS[s])
                out['exact_gt'][s] = dict(headline=headline(res),
                                          pair_set=res['pair_set'])
    return out


_PAIR_SETS: dict = {}


def run_seed(seed_dir: str, info: dict, setting: Setting, seed: int,
             encoder: str, base_config: str, split: str, secondary: bool,
             threads: int = 1, label_prop: bool = True) -> dict:
    """Init + the four trained arms of one seed, every one scored."""
    common = arm_overrides(info, setting, seed, encoder, base_config)
    init_ckpt, model = A.make_init(osp.join(seed_dir, 'configs', 'init.py'),
                                   base_config, common, seed,
                                   osp.join(seed_dir, 'init.pth'))
    ckpts, seconds = dict(init=init_ckpt), {}
    for name, sampler, oracle in TRAINED:
        slug = name.lower().replace('(', '_').replace(')', '').replace('-', '_')
        over = _with_tracks(common, info['tracks_oracle']) if oracle else common
        ckpts[name], seconds[name] = A.train_arm(
            name, sampler, osp.join(seed_dir, 'train', slug),
            osp.join(seed_dir, 'configs', f'{slug}.py'), base_config, over,
            init_ckpt, threads)
        print(f'seed {seed}: {name} {setting.iters} iterations in '
              f'{seconds[name]:.0f} s', flush=True)
    from tqdm import tqdm
    t0 = time.time()
    results = {name: score(model, ck, info['render_eval'], split, secondary,
                           label_prop)
               for name, ck in tqdm(list(ckpts.items()),
                                    desc=f'seed {seed}: scoring', unit='model')}
    seconds['scoring'] = time.time() - t0
    return dict(seed=seed, results=results, seconds=seconds, checkpoints=ckpts)


def run_seeds(ws: str, tag: str, encoder: str, split: str, seeds: Sequence[int],
              setting: Setting, base_config: str, secondary: bool = False,
              threads: int = 1, label_prop: bool = True) -> List[dict]:
    """Run (or reuse) every seed of ``tag``; results in ``ws/runs/<tag>/``."""
    info = load_data_info(ws)
    enc = load_encoder(ws, encoder)
    out_dir = osp.join(ws, 'runs', tag)
    os.makedirs(out_dir, exist_ok=True)
    settings = dict({k: v for k, v in setting._asdict().items()
                     if k not in ('lr', 'keep_every') or v},
                    encoder=encoder, encoder_sha256=enc['sha256'],
                    split=split, secondary=secondary, base_config=base_config,
                    label_prop=bool(secondary and label_prop))
    out = []
    for seed in seeds:
        path = osp.join(out_dir, f'seed_{seed}.json')
        if osp.isfile(path):
            old = json.load(open(path))
            if old['settings'] == settings:
                print(f'seed {seed}: reusing {path}')
                out.append(old)
                continue
            raise SystemExit(f'error: {path} was made with other settings; use '
                             'another --tag')
        t0 = time.time()
        res = run_seed(osp.join(out_dir, f'seed_{seed}'), info, setting, seed,
                       enc['path'], base_config, split, secondary, threads,
                       label_prop)
        res.update(settings=settings, wall_seconds=time.time() - t0,
                   fingerprints=_fingerprints(info))
        st.write_json(path, res)
        prim = {n: r['video_pck']['acc'] for n, r in res['results'].items()}
        print(f'seed {seed} ({time.time() - t0:.0f} s): video PCK@1 ' + ', '.join(
            f'{n} {v:.4f}' for n, v in prim.items()), flush=True)
        out.append(res)
    return out


def load_data_info(ws: str) -> dict:
    """``ws/data.json`` written by the ``data`` stage.

    Raises:
        SystemExit: It is missing (one line naming the stage to run).
    """
    path = osp.join(ws, 'data.json')
    if not osp.isfile(path):
        raise SystemExit(f'error: {path} not found; run '
                         f'`tools/analysis/prereg_experiment.py data {ws}` first')
    return json.load(open(path))


def load_encoder(ws: str, name: str) -> dict:
    """``{path, sha256, kind}`` of encoder ``name`` from ``ws/encoders.json``.

    Raises:
        SystemExit: The file or the encoder is missing (one line with the fix).
    """
    path = osp.join(ws, 'encoders.json')
    encs = json.load(open(path)) if osp.isfile(path) else {}
    if name not in encs:
        raise SystemExit(f'error: {path}: no encoder {name!r}; run '
                         f'`tools/analysis/prereg_experiment.py encoders {ws}` first')
    return encs[name]


def _fingerprints(info: dict) -> Dict[str, str]:
    """``{split: fingerprint}`` of the rendered sets (``render_info.json``)."""
    fp = {}
    for key in ('render_train', 'render_eval'):
        path = osp.join(info[key], 'render_info.json')
        for split, v in json.load(open(path))['splits'].items():
            fp[f'rendered_{split}'] = v['fingerprint']
    return fp


def load_runs(ws: str, tag: str) -> List[dict]:
    """Every ``seed_*.json`` of a tag, sorted by seed."""
    d = osp.join(ws, 'runs', tag)
    runs = [json.load(open(osp.join(d, f))) for f in
            (os.listdir(d) if osp.isdir(d) else [])
            if f.startswith('seed_') and f.endswith('.json')]
    if not runs:
        raise SystemExit(f'error: {d}: no finished seeds')
    return sorted(runs, key=lambda r: r['seed'])


def _acc(run: dict, arm: str) -> float:
    return run['results'][arm]['video_pck']['acc']


def _clips(run: dict, arm: str) -> Dict[str, tuple]:
    return {c: (v['hits'], v['points'])
            for c, v in run['results'][arm]['video_pck']['clips'].items()}


def pilot_summary(runs: List[dict]) -> dict:
    """Mean gain of the four trained arms over init and G (Static(Frame) − init)."""
    import numpy as np
    gains = {n: float(np.mean([_acc(r, n) - _acc(r, 'init') for r in runs]))
             for n, _, _ in TRAINED}
    return dict(mean_gain=float(np.mean(list(gains.values()))), gains=gains,
                G=gains['Static(Frame)'],
                seconds_per_run=float(np.mean([v for r in runs for k, v in
                                               r['seconds'].items()
                                               if k != 'scoring'])),
                means={n: float(np.mean([_acc(r, n) for r in runs]))
                       for n in ARM_ORDER})


def projected_minutes(seconds_per_run: float) -> float:
    """The registered projection of the final runs' wall time (deviation 2.2):
    (12 seeds × 4 arms × seconds per run + 30 × 45 s + 30 × 7 s) ÷ 2 processes."""
    return (12 * 4 * seconds_per_run + 30 * 45 + 30 * 7) / 2 / 60


def pilot_log(ws: str, tags: Sequence[str], budget_min: float = 75.0) -> dict:
    """The pilot rule over the grid points tried: one row per tag, the choice, δ.

    Returns:
        dict: ``rows`` (per tag: setting, seconds per run, projected minutes,
        per-arm val means, mean gain, G), ``chosen`` (tag), ``delta``, ``text``
        (markdown table).
    """
    from pico_mm.evaluation import paired_stats as ps
    rows = {}
    for tag in tags:
        runs = load_runs(ws, tag)
        summ = pilot_summary(runs)
        summ['projected_min'] = projected_minutes(summ['seconds_per_run'])
        summ['fits'] = summ['projected_min'] <= budget_min
        summ['setting'] = {k: runs[0]['settings'][k]
                           for k in ('iters', 'view', 'queue', 'head', 'batch')}
        summ['seeds'] = [r['seed'] for r in runs]
        rows[tag] = summ
    fitting = [t for t in tags if rows[t]['fits']]
    # largest mean gain; ties (to 4 decimals) go to the cheaper setting
    chosen = (max(fitting, key=lambda t: (round(rows[t]['mean_gain'], 4),
                                          -rows[t]['projected_min']))
              if fitting else None)
    delta = ps.margin(rows[chosen]['G']) if chosen else None
    head = ('| point | iters | view | queue | head | s per run | projected final '
            '(min) | fits | ' + ' | '.join(ARM_ORDER) + ' | mean gain | G |')
    lines = [head, '|' + '---|' * (head.count('|') - 1)]
    for tag, r in rows.items():
        st_ = r['setting']
        lines.append(
            f'| {tag} | {st_["iters"]} | {st_["view"]} | {st_["queue"]} | '
            f'{st_["head"]} | {r["seconds_per_run"]:.0f} | '
            f'{r["projected_min"]:.0f} | {"yes" if r["fits"] else "no"} | ' +
            ' | '.join(f'{r["means"][a]:.4f}' for a in ARM_ORDER) +
            f' | {r["mean_gain"]:+.4f} | {r["G"]:+.4f} |')
    text = '\n'.join(lines)
    text += (f'\n\nChosen: **{chosen}**; δ = max(0.01, 0.25 × {rows[chosen]["G"]:.4f})'
             f' = **{delta:.4f}**.' if chosen else '\n\nNo point fits the budget.')
    return dict(rows=rows, chosen=chosen, delta=delta, text=text)


def analyze(ws: str, tag: str, delta: float, out: Optional[str] = None) -> dict:
    """The registered analysis of one encoder's runs; prints and writes JSON."""
    import numpy as np

    from pico_mm.evaluation import paired_stats as ps
    runs = load_runs(ws, tag)
    table = {}
    for arm in ARM_ORDER:
        v = [_acc(r, arm) for r in runs]
        table[arm] = dict(mean=float(np.mean(v)), std=float(np.std(v, ddof=1))
                          if len(v) > 1 else 0.0, seeds=v)
    contrasts = {}
    for key, (a, b) in CONTRASTS.items():
        contrasts[key] = ps.contrast([_acc(r, a) for r in runs],
                                     [_acc(r, b) for r in runs],
                                     [_clips(r, a) for r in runs],
                                     [_clips(r, b) for r in runs], delta)
        contrasts[key]['seeds_needed'] = ps.seeds_needed(contrasts[key], delta)
    decision = ps.decide(contrasts)
    res = dict(tag=tag, delta=delta, seeds=[r['seed'] for r in runs],
               settings=runs[0]['settings'], table=table, contrasts=contrasts,
               decision=decision, secondary=_secondary(runs),
               chance=runs[0]['results']['init']['video_pck']['chance'],
               zero_motion=runs[0]['results']['init']['video_pck']['zero_motion'],
               points=runs[0]['results']['init']['video_pck']['points'],
               fingerprints=_fingerprints(json.load(open(osp.join(
                   ws, 'data.json')))) if osp.isfile(osp.join(ws, 'data.json'))
               else runs[0].get('fingerprints'))
    print(format_analysis(res))
    st.write_json(out or osp.join(ws, 'runs', tag, 'analysis.json'), res)
    return res


def _secondary(runs: List[dict]) -> dict:
    import numpy as np
    first = runs[0]['results']['init']
    if 'exact_gt' not in first:
        return {}
    out = {}
    for arm in ARM_ORDER:
        rs = [r['results'][arm] for r in runs]
        vals = {}
        if 'label_propagation' in first:
            vals['J&F'] = [x['label_propagation']['mean']['J&F'] for x in rs]
            for g in ('foreground', 'near_boundary', 'reappearing'):
                vals[f'pts_{g}'] = [(x['label_propagation'].get('points') or {})
                                    .get(g, {}).get('acc', float('nan'))
                                    for x in rs]
        for s in rs[0]['exact_gt']:
            vals[f'exact_gt_{s}'] = [x['exact_gt'][s]['headline'] for x in rs]
        out[arm] = {k: dict(mean=float(np.nanmean(v)),
                            std=float(np.nanstd(v, ddof=1)), seeds=v)
                    for k, v in vals.items()}
    return out


def format_analysis(res: dict) -> str:
    """The result table, the contrasts and the decision as text."""
    n = len(res['seeds'])
    lines = [f'{res["tag"]}: video PCK@1 (primary), {n} seeds {res["seeds"]}, '
             f'{res["points"]} points per model; chance {res["chance"]:.4f}, '
             f'no-motion {res["zero_motion"]:.4f}; δ = {res["delta"]:.4f}']
    for arm, t in res['table'].items():
        lines.append(f'  {arm:<14s} {t["mean"]:.4f} ± {t["std"]:.4f}')
    lines.append('  contrast              mean      95% t-interval      '
                 '90% t-interval      95% bootstrap      TOST')
    for key, c in res['contrasts'].items():
        a, b = CONTRASTS[key]
        lines.append(
            f'  {a + " − " + b:<28s} {c["mean"]:+.4f}  [{c["ci95"][0]:+.4f}, '
            f'{c["ci95"][1]:+.4f}]  [{c["ci90"][0]:+.4f}, {c["ci90"][1]:+.4f}]  '
            f'[{c["boot95"][0]:+.4f}, {c["boot95"][1]:+.4f}]  '
            f'{"equivalent" if c["equivalent"] else "not shown"}')
    lines.append(f'  decision: {res["decision"]}')
    if res.get('fingerprints'):
        lines.append('  sets: ' + ', '.join(f'{k} {v}' for k, v in
                                            res['fingerprints'].items()))
    sec = res.get('secondary') or {}
    if sec:
        keys = list(next(iter(sec.values())))
        lines.append('  secondary (mean ± std over seeds): ' + ', '.join(keys))
        for arm, vals in sec.items():
            lines.append(f'  {arm:<14s} ' + '  '.join(
                f'{vals[k]["mean"]:.4f} ± {vals[k]["std"]:.4f}' for k in keys))
    return '\n'.join(lines)
