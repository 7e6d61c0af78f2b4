#!/usr/bin/env python
"""Evaluate a trained probe / detector checkpoint with the mmengine Runner.

Same shape as mmseg's / mmdet's ``tools/test.py``::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options K=V ...] [--launcher {none,pytorch,slurm,mpi}]
    bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
    bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]

Works for every config in ``configs/benchmarks/`` (mmseg or mmdet: the
config's ``default_scope`` and ``custom_imports`` pick the registries).
``CHECKPOINT`` is what ``tools/train.py`` wrote (e.g.
``work_dirs/<config>/iter_40000.pth``); it is loaded as the Runner's
``load_from``. ``--out metrics.json`` writes the metrics (rank 0, atomic);
``--out preds.pkl --out-item pred`` dumps the predictions instead
(mmengine's ``DumpResults``), for offline evaluation.
"""
import argparse
import json
import os.path as osp
import sys

# Make the repo importable when pico_mm is not pip-installed (plain clone).
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pico_mm  # noqa: E402,F401  (checkpoint compat + registrations)
from mmengine.runner import Runner  # noqa: E402

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402
from pico_mm.utils.runner_cli import add_common_args, load_cfg  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a checkpoint of a pico_mm benchmark (MMSeg / '
        'MMDet) config')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (from '
                        'tools/train.py)')
    parser.add_argument(
        '--out', help='write the metrics (.json) or, with --out-item pred, '
        'the raw predictions (.pkl) to this file')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        default='metrics', help='what --out holds')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        print(f'error: {args.checkpoint}: checkpoint not found; give the '
              '.pth that tools/train.py wrote (e.g. work_dirs/<config>/'
              'iter_40000.pth)', file=sys.stderr)
        return 1
    if args.out and args.out_item == 'metrics' and \
            not args.out.endswith('.json'):
        print(f'error: --out {args.out}: metrics are written as JSON; give a '
              '.json path (or --out-item pred with a .pkl path)',
              file=sys.stderr)
        return 1
    if args.out and args.out_item == 'pred' and \
            not args.out.endswith(('.pkl', '.pickle')):
        print(f'error: --out {args.out}: predictions are dumped as a pickle; '
              'give a .pkl path', file=sys.stderr)
        return 1
    cfg = load_cfg(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    if args.out and args.out_item == 'pred':
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    from mmengine.dist import get_rank
    if get_rank() == 0:
        if args.out and args.out_item == 'metrics':
            atomic_write_bytes(args.out, json.dumps(
                metrics, indent=1, default=float).encode())
        print('metrics: ' + json.dumps(metrics, default=float))
    return 0


if __name__ == '__main__':
    sys.exit(main())
