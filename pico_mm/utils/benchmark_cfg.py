"""Config edits and checks behind ``tools/benchmark.py`` (mmengine configs).

Every edit is available both as a dict of dotted keys (what the benchmark
passes to ``tools/train.py`` / ``tools/test.py`` as ``--cfg-options``) and
applied to a loaded config (what the tests do in-process), so the two can
never drift apart.
"""
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

#: Config key that names the frozen weights of each task.
WEIGHTS_KEY = {'seg': 'model.backbone.checkpoint',
               'det': 'model.frozen_checkpoint'}
_SCALE = re.compile(r'_(\d+)xb(\d+)-')


def _leaf_dataset_keys(dataset_cfg, prefix: str) -> List[str]:
    """Dotted keys of every leaf dataset (unwraps Concat/RepeatDataset)."""
    if 'datasets' in dataset_cfg:
        return [k for i, sub in enumerate(dataset_cfg['datasets'])
                for k in _leaf_dataset_keys(sub, f'{prefix}.datasets.{i}')]
    if 'dataset' in dataset_cfg:
        return _leaf_dataset_keys(dataset_cfg['dataset'], prefix + '.dataset')
    return [prefix]


def data_root_overrides(cfg, root: str) -> Dict[str, str]:
    """Dotted overrides that point every dataloader (and COCO's evaluator)
    at ``root``.

    Args:
        cfg (Config): Benchmark config.
        root (str): Dataset root (e.g. ``data/coco``).

    Returns:
        dict: ``{'train_dataloader.dataset.data_root': root, ...}``.
    """
    out = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            for leaf in _leaf_dataset_keys(cfg[key]['dataset'],
                                           key + '.dataset'):
                out[leaf + '.data_root'] = root
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        if isinstance(ev, dict) and ev.get('ann_file'):
            out[key + '.ann_file'] = osp.join(root, 'annotations',
                                              osp.basename(ev['ann_file']))
    return out


def set_data_root(cfg, root: str) -> None:
    """Apply :func:`data_root_overrides` to ``cfg`` in place."""
    cfg.merge_from_dict(data_root_overrides(cfg, root))


def set_checkpoint(cfg, task: str, ckpt: str) -> None:
    """Set the exported frozen weights (``WEIGHTS_KEY[task]``), strict at
    model init: ``model.backbone.checkpoint`` (mmseg) or
    ``model.frozen_checkpoint`` (mmdet)."""
    cfg.merge_from_dict({WEIGHTS_KEY[task]: ckpt})


def name_scale(config_path: str) -> Optional[Tuple[int, int]]:
    """``(GPUs, images per GPU)`` from an OpenMMLab config name.

    ``linear_pico_r50_4xb4-40k_coco-...py`` -> ``(4, 4)``; None when the
    name has no ``NxbB`` part.
    """
    m = _SCALE.search(osp.basename(config_path))
    return (int(m.group(1)), int(m.group(2))) if m else None


def final_checkpoint_name(cfg) -> str:
    """File name of the checkpoint mmengine's CheckpointHook writes last
    (``save_last``): ``iter_<max_iters>.pth`` or ``epoch_<max_epochs>.pth``.
    """
    train = cfg.train_cfg
    if train.get('max_iters') is not None and \
            'Epoch' not in str(train.get('type', '')):
        return f'iter_{train["max_iters"]}.pth'
    return f'epoch_{train["max_epochs"]}.pth'


def parse_cfg_options(options: List[str]) -> Dict:
    """``['a.b=1', 'c=(1,2)']`` -> ``{'a.b': 1, 'c': (1, 2)}`` exactly as
    mmengine's ``--cfg-options`` (``DictAction``) parses them.

    Raises:
        ValueError: An item without ``=``.
    """
    from mmengine.config import DictAction
    out = {}
    for item in options or []:
        if '=' not in item:
            raise ValueError(f'--cfg-options {item!r}: expected KEY=VALUE')
        key, val = item.split('=', 1)
        out[key] = DictAction._parse_iterable(val)
    return out


def run_config(cfg, work_dir: str, eval_only: bool = False,
               return_runner: bool = False):
    """Train (unless ``eval_only``) and evaluate one config in this process.

    Args:
        cfg (Config): Complete mmengine config (custom_imports applied by the
            Runner).
        work_dir (str): Runner work dir.
        eval_only (bool): Only run the test loop.
        return_runner (bool): Also return the Runner (tests inspect it).

    Returns:
        dict: Metrics of the last evaluation (e.g. ``mIoU``, ``fIoU``,
        ``coco/bbox_mAP``, ``rmse``); ``(metrics, runner)`` with
        ``return_runner``.
    """
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class _Recorder(Hook):
        last: Dict = {}

        def after_val_epoch(self, runner, metrics=None):
            self.last = dict(metrics or {})

    cfg.work_dir = work_dir
    runner = Runner.from_cfg(cfg)
    if eval_only:
        metrics = dict(runner.test())
    else:
        recorder = _Recorder()
        runner.register_hook(recorder, 'LOWEST')
        runner.train()
        metrics = recorder.last or dict(runner.val())
    return (metrics, runner) if return_runner else metrics
