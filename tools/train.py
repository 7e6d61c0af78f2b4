#!/usr/bin/env python
"""Train a pico_mm / mmselfsup model with the mmengine Runner.

Same CLI as mmselfsup's ``tools/train.py``::

    python tools/train.py configs/pico/pico_r50-fpn_8xb32-coslr-100e_k400.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume        # auto
    python tools/train.py CONFIG --resume work_dirs/x/iter_2000.pth
    python tools/train.py CONFIG --amp --cfg-options train_dataloader.batch_size=8
    bash tools/dist_train.sh CONFIG 8                                 # DDP
"""
import argparse
import os
import os.path as osp
import sys

# Make the repo importable when pico_mm is not pip-installed (e.g. a plain clone).
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import pico_mm  # noqa: E402,F401  (checkpoint compat + registrations)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a pico_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from a checkpoint path; with no path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='set deterministic options for CUDNN')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs (e.g. '
        'train_dataloader.batch_size=8 model.queue_len=4096)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (or --local_rank)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def default_work_dir(config_path):
    """./work_dirs/<config file name without extension>; works for any path."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def build_cfg(args):
    if not osp.isfile(args.config):
        sys.exit(f'error: config file not found: {args.config} '
                 '(pass the path of a .py config, e.g. configs/pico/...)')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.amp:
        optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_type == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        else:
            assert optim_type == 'OptimWrapper', (
                f'--amp needs an OptimWrapper, got {optim_type}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
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
