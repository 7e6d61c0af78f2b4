#!/usr/bin/env python
"""Label propagation (J, F, J&F) of frozen features on a DAVIS-2017-layout folder.

    python tools/analysis/label_propagation.py DATA_ROOT [NAME=]MODEL [...] \
        [--config CFG] [--split val] [--out results.json]

The field's standard video evaluation, with the CRW protocol (Jabri et al. 2020):
frozen dense features of every frame, the first frame's mask given, labels
propagated from the first frame and the 20 previous frames (top-k 10, radius 12
feature cells, temperature 0.05) as soft one-hot and argmax'd at the image size;
J (region IoU) and F (boundary F-measure, DAVIS toolkit) per object and their means.
MODEL is a training checkpoint (.pth; its config from --config or meta.cfg) or a
model config (.py: the randomly initialised network, --seed). DATA_ROOT is any
DAVIS-2017-layout folder (real DAVIS-2017 trainval, or tools/data/render_clips.py
output, whose exact tracks add point-match accuracy at 1 feature cell for all,
foreground, near-boundary and re-appearing points). See docs/evaluation.md.
"""
import argparse
import json
import math
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402
from pico_mm.utils.runner_cli import named_paths  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[2].replace('\n', ' '),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('data_root', help='folder in the DAVIS-2017 layout')
    p.add_argument('models', nargs='+', metavar='[NAME=]MODEL',
                   help='checkpoint (.pth) or model config (.py: random init); '
                   'NAME labels the row (default: the file name)')
    p.add_argument('--config', default=None,
                   help='model config of the checkpoints (default: meta.cfg)')
    p.add_argument('--split', default='val',
                   help='image set: ImageSets/2017/<split>.txt')
    p.add_argument('--resolution', default='480p',
                   help='sub-folder of JPEGImages/ and Annotations/')
    p.add_argument('--clips', nargs='+', default=None,
                   help='only these clips of the split')
    p.add_argument('--topk', type=int, default=10)
    p.add_argument('--radius', type=float, default=12.0,
                   help='spatial radius on the recent frames, feature cells')
    p.add_argument('--n-context', type=int, default=20,
                   help='recent frames in the context (plus the first frame)')
    p.add_argument('--temperature', type=float, default=0.05)
    p.add_argument('--no-points', action='store_true',
                   help='skip point-match accuracy (exact tracks)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the random initialisation of a .py MODEL')
    p.add_argument('--batch-size', type=int, default=8, help='frames per forward')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--out', default=None, help='JSON file for all results')
    args = p.parse_args(argv)
    args.named = named_paths(p, args.models, ('.pth', '.py'),
                             'a .pth checkpoint / .py config; pass a file '
                             'written by tools/train.py or a config')
    if args.config and not osp.isfile(args.config):
        p.exit(2, f'error: --config {args.config} not found\n')
    if args.topk < 1 or args.n_context < 0 or args.temperature <= 0:
        p.exit(2, 'error: --topk >= 1, --n-context >= 0, --temperature > 0\n')
    return args


def random_model(config: str, seed: int):
    """The randomly initialised model of a config (eval mode)."""
    import logging

    import torch
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import pico_mm  # noqa: F401  (registrations)
    from mmselfsup.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmselfsup'))
    cfg.model.pop('backbone_checkpoint', None)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    log = MMLogger.get_current_instance()
    level = log.level
    log.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        log.setLevel(level)
    return model.eval()


def table(results: dict) -> str:
    """Rows: models (+ chance); columns J, F, J&F and point accuracy per group."""
    groups = ('all', 'foreground', 'near_boundary', 'reappearing')
    with_pts = any('points' in r for r in results.values())
    head = f'{"model":<16s}' + ''.join(f'{c:>7s}' for c in ('J', 'F', 'J&F'))
    if with_pts:
        head += '  pts: ' + ''.join(f'{g:>15s}' for g in groups)
    lines = [head, '-' * len(head)]
    for name, r in results.items():
        line = f'{name:<16s}' + ''.join(f'{r["mean"][c]:7.3f}'
                                        for c in ('J', 'F', 'J&F'))
        if with_pts:
            pts = r.get('points', {})
            line += '       ' + ''.join(
                f'{pts.get(g, {}).get("acc", math.nan):15.3f}' for g in groups)
        lines.append(line)
    if with_pts:
        pts = next(r['points'] for r in results.values() if 'points' in r)
        lines.append(f'{"chance":<16s}' + ' ' * 21 + '       ' + ''.join(
            f'{pts[g]["chance"]:15.4f}' for g in groups))
        lines.append(f'{"points scored":<16s}' + ' ' * 21 + '       ' + ''.join(
            f'{pts[g]["points"]:15d}' for g in groups))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from tqdm import tqdm

    from pico_mm.engine.checkpoint_model import (CheckpointError,
                                                 model_from_checkpoint)
    from pico_mm.engine.hooks.probe_hook_base import model_embed_fn
    from pico_mm.evaluation.davis_layout import DavisLayoutError, list_clips
    from pico_mm.evaluation.label_propagation import label_propagation
    if args.threads:
        torch.set_num_threads(args.threads)
    print('device: cpu')
    try:
        clips = list_clips(args.data_root, args.split, args.resolution, args.clips)
    except DavisLayoutError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    settings = dict(topk=args.topk, radius=args.radius, n_context=args.n_context,
                    temperature=args.temperature)
    results, start = {}, time.time()
    with tqdm(total=len(clips) * len(args.named), desc='label propagation',
              unit='clip') as bar:
        for name, path in args.named:
            try:
                if path.endswith('.py'):
                    model, source = random_model(path, args.seed), path
                else:
                    model, source = model_from_checkpoint(path, args.config)
            except CheckpointError as e:
                bar.close()
                print(f'error: {e}', file=sys.stderr)
                return 1
            try:
                res = label_propagation(
                    model_embed_fn(model), args.data_root, args.split,
                    args.resolution, args.clips, settings, args.batch_size,
                    not args.no_points, bar.update)
            except DavisLayoutError as e:
                bar.close()
                print(f'error: {e}', file=sys.stderr)
                return 1
            results[name] = dict(model=osp.abspath(path), config=source, **res)
    print(f'\nLabel propagation, {args.data_root} split {args.split} '
          f'({len(clips)} clips; top-k {args.topk}, radius {args.radius:g}, '
          f'{args.n_context} context frames + the first, temperature '
          f'{args.temperature:g}); J, F, J&F: means over objects; pts: '
          'point-match accuracy at 1 feature cell (points scored)')
    print(table(results))
    print(f'{time.time() - start:.1f} s')
    if args.out:
        atomic_write_bytes(args.out, json.dumps(results, indent=1).encode())
        print(f'results: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
