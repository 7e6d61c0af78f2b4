#!/usr/bin/env python
"""Train a pico_mm / mmselfsup model (or a benchmark probe) with the mmengine Runner.

Same CLI as mmselfsup's ``tools/train.py``::

    python tools/train.py configs/pico/pico_r50-fpn_8xb32-coslr-100e_k400.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume        # auto
    python tools/train.py CONFIG --resume work_dirs/x/iter_2000.pth
    python tools/train.py CONFIG --amp --cfg-options train_dataloader.batch_size=8
    python tools/train.py CONFIG --amp --amp-dtype bfloat16   # A100/H100
    python tools/train.py CONFIG --auto-scale-lr   # lr x (GPUs*batch)/base_batch_size
    bash tools/dist_train.sh CONFIG 8                                 # DDP
    bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG --work-dir DIR  # Slurm

The same script trains the MMSeg / MMDet benchmark configs in
``configs/benchmarks/`` (their ``default_scope`` comes from the config);
``tools/test.py`` evaluates the result.
"""
import argparse
import os.path as osp
import sys

# Make the repo importable when pico_mm is not pip-installed (e.g. a plain clone).
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pico_mm  # noqa: E402,F401  (checkpoint compat + registrations)
from mmengine.runner import Runner  # noqa: E402

from pico_mm.utils.runner_cli import (add_common_args,  # noqa: E402,F401
                                      default_work_dir, load_cfg)


AMP_DTYPES = ('float16', 'bfloat16')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a pico_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from a checkpoint path; with no path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training '
                        '(mmengine AmpOptimWrapper; float16 unless '
                        '--amp-dtype says otherwise)')
    parser.add_argument(
        '--amp-dtype', choices=AMP_DTYPES, default=None,
        help='autocast dtype of --amp: float16 (the default; dynamic loss '
        'scaling) or bfloat16 (no loss scaling: bf16 has the exponent range '
        'of float32; needs a GPU with bf16, e.g. A100/H100)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate linearly by (GPUs x batch per GPU) / '
        'auto_scale_lr.base_batch_size of the config (off by default: the '
        "config's lr is used as written)")
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='set deterministic options for CUDNN')
    add_common_args(parser)
    return parser.parse_args(argv)


def build_cfg(args):
    cfg = load_cfg(args)
    if args.amp_dtype is not None and not args.amp:
        sys.exit('error: --amp-dtype is the dtype of --amp; add --amp')
    if args.amp:
        optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_type == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        elif optim_type != 'OptimWrapper':
            sys.exit(f'error: --amp needs optim_wrapper.type=OptimWrapper in '
                     f'{args.config}, got {optim_type}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        if args.amp_dtype is not None:
            cfg.optim_wrapper.dtype = args.amp_dtype
            if args.amp_dtype == 'bfloat16':
                # bf16 does not underflow like fp16: no loss scaling, and no
                # GradScaler inf check (a host sync) per iteration.
                cfg.optim_wrapper.loss_scale = dict(enabled=False)
    if args.auto_scale_lr:
        base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
        if not base:
            sys.exit(f'error: {args.config} has no auto_scale_lr.'
                     'base_batch_size; add auto_scale_lr = dict(enable=False, '
                     'base_batch_size=<GPUs x batch of the lr>) to the config')
        cfg.auto_scale_lr = dict(enable=True, base_batch_size=base)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.seed is not None or args.deterministic:
        cfg.randomness = dict(seed=args.seed, deterministic=args.deterministic)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
