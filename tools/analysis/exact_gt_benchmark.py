#!/usr/bin/env python
"""Exact ground-truth correspondence benchmark of one or more checkpoints.

    python tools/analysis/exact_gt_benchmark.py CKPT [NAME=CKPT ...] \
        [--config CFG] [--split val test] [--radii 1 2] [--out results.json]

Pairs of real photographs (scikit-image's samples, never training video frames)
under known rigid (homography) and non-rigid (smooth deformation + occluders)
warps with photometric change, and (split stereo) windows of a real rectified
stereo pair with ground-truth disparity (real parallax); the true match of every
point is exact. For each
model the dense embedding's cosine nearest neighbour of every point is searched
over the whole other frame; a hit is within r feature cells. Only points that
moved more than r cells are scored. Prints one table per split (accuracy per kind
and radius, chance and no-motion rows) and writes all numbers to ``--out`` JSON.
Choose settings on ``val``; report ``test``. See docs/evaluation.md.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402
from pico_mm.utils.runner_cli import named_paths  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[1].replace('\n', ' '),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('checkpoints', nargs='+', metavar='[NAME=]CKPT',
                   help='training checkpoints (.pth); NAME labels the row '
                   '(default: the file name)')
    p.add_argument('--config', default=None,
                   help='model config; default: the config mmengine stored in '
                   'each checkpoint (meta.cfg)')
    p.add_argument('--split', nargs='+', choices=['val', 'test', 'stereo'],
                   default=['val'], help='pair-set splits to score (stereo: '
                   'real parallax, report only)')
    p.add_argument('--pairs-per-kind', type=int, default=24,
                   help='pairs per kind (rigid, non-rigid; stereo) and split')
    p.add_argument('--size', type=int, nargs=2, default=[128, 160],
                   metavar=('H', 'W'), help='frame size of the pairs')
    p.add_argument('--points', type=int, default=256, help='points per pair')
    p.add_argument('--radii', type=float, nargs='+', default=[1, 2],
                   help='hit radii in feature cells')
    p.add_argument('--seed', type=int, default=None,
                   help='pair-set seed (default: the split\'s fixed seed)')
    p.add_argument('--batch-size', type=int, default=8, help='pairs per forward')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--out', default=None, help='JSON file for all results')
    args = p.parse_args(argv)
    args.models = named_paths(p, args.checkpoints, ('.pth', ),
                              'a .pth checkpoint written by tools/train.py')
    if args.config and not osp.isfile(args.config):
        p.exit(2, f'error: --config {args.config} not found\n')
    if min(args.size) < 16 or args.pairs_per_kind < 1 or args.points < 1:
        p.exit(2, 'error: --size must be >= 16 and --pairs-per-kind, --points >= 1\n')
    return args


def table_rows(results, split):
    """``{name: {column: acc}}`` plus the chance / no-motion reference rows."""
    from pico_mm.evaluation import exact_gt_columns
    rows = {n: exact_gt_columns(r[split]) for n, r in results.items()}
    ref = next(iter(results.values()))[split]
    rows['chance'] = exact_gt_columns(ref, 'chance')
    rows['no motion'] = exact_gt_columns(ref, 'zero_motion')
    return rows


def main(argv=None):
    args = parse_args(argv)
    import torch
    from tqdm import tqdm

    from pico_mm.engine.checkpoint_model import (CheckpointError,
                                                 model_from_checkpoint)
    from pico_mm.engine.hooks.probe_hook_base import model_embed_fn
    from pico_mm.evaluation import format_table, make_pair_set, run_exact_gt
    from pico_mm.evaluation.exact_gt_pairs import ExactGTError
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        sets = {s: make_pair_set(s, args.pairs_per_kind, tuple(args.size),
                                 args.points, args.seed) for s in args.split}
    except ExactGTError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    total = sum(len(s.pairs) for s in sets.values()) * len(args.models)
    results = {}
    with tqdm(total=total, desc='exact-GT', unit='pair') as bar:
        for name, path in args.models:
            try:
                model, _ = model_from_checkpoint(path, args.config)
            except CheckpointError as e:
                bar.close()
                print(f'error: {e}', file=sys.stderr)
                return 1
            embed = model_embed_fn(model)
            results[name] = {s: run_exact_gt(embed, ps, args.radii,
                                             args.batch_size, bar.update)
                             for s, ps in sets.items()}
    notes = {'chance': '(random cell)',
             'no motion': '(cell at the source point)'}
    for split, ps in sets.items():
        d = ps.describe()
        kinds = ', '.join(f'{n} {k}' for k, n in d['pairs'].items())
        print(f'\nExact-GT correspondence, {split} split (v{d["version"]}, seed '
              f'{d["seed"]}, fingerprint {d["fingerprint"]}; pairs: {kinds}; '
              f'{d["size"][0]}x{d["size"][1]} px): nearest-neighbour accuracy '
              'within r feature cells (column kind@r), points that moved more '
              'than r cells only')
        print(format_table(table_rows(results, split), notes))
    if args.out:
        out = dict(pair_sets={s: ps.describe() for s, ps in sets.items()},
                   models={n: dict(checkpoint=osp.abspath(p), **results[n])
                           for n, p in args.models})
        atomic_write_bytes(args.out, json.dumps(out, indent=1).encode())
        print(f'\nresults: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
