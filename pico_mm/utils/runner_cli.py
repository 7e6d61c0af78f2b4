"""Arguments and config loading shared by ``tools/train.py`` and ``tools/test.py``.

Both follow the OpenMMLab command-line shape (``CONFIG [--work-dir DIR]
[--cfg-options K=V ...] [--launcher {none,pytorch,slurm,mpi}]``) so that
``tools/dist_*.sh`` / ``tools/slurm_*.sh`` and OpenMMLab users' habits work
unchanged. mmengine is imported inside the functions.
"""
import argparse
import os
import os.path as osp
import sys


def named_paths(parser: argparse.ArgumentParser, items, suffixes: tuple,
                what: str) -> list:
    """``NAME=PATH`` arguments (a bare ``PATH`` is named by its file stem).

    Exits through ``parser`` with one line for a missing file, a file without
    one of ``suffixes``, or two models with the same name.

    Returns:
        list[tuple[str, str]]: ``(name, path)`` in the given order.
    """
    out = []
    for item in items:
        name, sep, path = item.partition('=')
        if not sep:
            name, path = osp.splitext(osp.basename(item))[0], item
        if not osp.isfile(path) or not path.endswith(suffixes):
            parser.exit(2, f'error: {path}: not found or not {what}\n')
        out.append((name, path))
    if len({n for n, _ in out}) != len(out):
        parser.exit(2, 'error: two models have the same name; label them '
                    'NAME=PATH\n')
    return out


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher``,
    ``--local-rank`` and ``--trust-checkpoint``."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs and models '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs (e.g. '
        'train_dataloader.batch_size=8 model.backbone.checkpoint=X.pth)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (or --local_rank)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='let checkpoints that the weights-only loader refuses (e.g. a '
        'MoCo-v2 release given as model.backbone_checkpoint) run the Python '
        'code pickled in them; only for files you trust')


def default_work_dir(config_path: str) -> str:
    """./work_dirs/<config file name without extension>; works for any path."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_cfg(args: argparse.Namespace):
    """Read ``args.config`` and apply the common arguments.

    Sets ``LOCAL_RANK`` (if unset), the process-wide ``--trust-checkpoint``
    switch, ``cfg.launcher``, the ``--cfg-options`` and ``cfg.work_dir``.

    Returns:
        mmengine.Config: The edited config.
    """
    from mmengine.config import Config

    from .safe_load import trust_checkpoints
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.trust_checkpoint:
        trust_checkpoints(True)
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
    return cfg
