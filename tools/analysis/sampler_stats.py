#!/usr/bin/env python
"""What each frame sampler feeds the loss: pairs per sample and frame gaps.

Examples::

    # the demo's tracks, the tiny CPU config's views, 300 samples per sampler
    python tools/analysis/sampler_stats.py configs/pico/pico_r18-fpn_tiny_cpu.py \\
        --cfg-options train_dataloader.dataset.data_root=work_dirs/demo/data/ \\
        --samples 300 --json sampler_stats.json

The config's training dataset is built once per sampler (``anchor``,
``static_video``, ``static_frame``, ``random``; change with ``--samplers``)
with the config's own pipeline, and ``--samples`` items are drawn with the
same seed. Columns: pairs before the views (``raw``), valid pairs after the
views before the ``num_points`` cap (``views``), pairs the loss gets
(``packed``), fraction of samples without a pair, and the frame gap
``|t2 - t1|`` (mean ± std, median, max).
"""
import argparse
import json
import os.path as osp
import random
import sys

import numpy as np
from tqdm import tqdm

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402

SAMPLERS = ('anchor', 'static_video', 'static_frame', 'random')


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a configs/pico config')
    p.add_argument('--samplers', nargs='+', default=list(SAMPLERS),
                   choices=SAMPLERS)
    p.add_argument('--samples', type=int, default=200)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', default=None, help='also write the numbers here')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings (mmengine syntax)')
    return p.parse_args(argv)


def collect(dataset, num: int, seed: int) -> dict:
    """Draw ``num`` samples (``dataset[i]``) and summarise them.

    Args:
        dataset: A ``VideoCorrespondenceDataset`` with ``PackPiCoInputs``
            last in its pipeline.
        num (int): Samples to draw (cycling over the videos).
        seed (int): Seed of ``np.random`` and Python's ``random`` (crops
            draw from the latter), so every sampler gets the same views.

    Returns:
        dict: lists ``raw``, ``views``, ``packed`` (pairs per sample) and
        ``gap`` (frame gaps).
    """
    random.seed(seed)
    np.random.seed(seed)
    raw, views, packed, gaps = [], [], [], []
    prepare = dataset.prepare_sample
    last = [0]

    def spy(idx, rng):  # pair count before the pipeline, of the kept try
        out = prepare(idx, rng)
        last[0] = len(out['points1'])
        return out

    dataset.prepare_sample = spy
    try:
        for i in tqdm(range(num), desc=dataset.frame_sampler, unit='sample'):
            sample = dataset[i % len(dataset)]['data_samples']
            raw.append(last[0])
            views.append(int(sample.num_pairs))
            packed.append(int(sample.points_valid.sum()))
            t1, t2 = sample.frame_inds
            gaps.append(abs(int(t2) - int(t1)))
    finally:
        dataset.prepare_sample = prepare
    return dict(raw=raw, views=views, packed=packed, gap=gaps)


def summarise(stats: dict) -> dict:
    """Mean/std of every list, the pair-less fraction and gap quantiles."""
    out = {}
    for key, vals in stats.items():
        v = np.asarray(vals, dtype=np.float64)
        out[key] = dict(mean=float(v.mean()), std=float(v.std()))
    gap = np.asarray(stats['gap'])
    out['gap'].update(median=float(np.median(gap)), max=int(gap.max()))
    out['no_pair_frac'] = float(np.mean(np.asarray(stats['packed']) == 0))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    import pico_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import DATASETS
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmselfsup'))
        results = {}
        for sampler in args.samplers:
            ds_cfg = dict(cfg.train_dataloader.dataset, frame_sampler=sampler)
            dataset = DATASETS.build(ds_cfg)
            results[sampler] = summarise(collect(dataset, args.samples,
                                                 args.seed))
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f'error: {args.config}: {type(e).__name__}: {e}',
              file=sys.stderr)
        return 2

    def ms(d):
        return f'{d["mean"]:.1f} ± {d["std"]:.1f}'

    print(f'{args.samples} samples per sampler, seed {args.seed}')
    print('sampler | raw pairs | after views | packed (loss) | no pair | '
          'frame gap | gap median | gap max')
    for name, r in results.items():
        print(f'{name} | {ms(r["raw"])} | {ms(r["views"])} | '
              f'{ms(r["packed"])} | {r["no_pair_frac"]:.1%} | {ms(r["gap"])} | '
              f'{r["gap"]["median"]:g} | {r["gap"]["max"]}')
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=1).encode())
    return 0


if __name__ == '__main__':
    sys.exit(main())
