#!/usr/bin/env python
"""Run pico_mm's frozen-feature benchmarks for one checkpoint; print a table.

Given a PiCo training checkpoint (or a MoCo-v2 one, detected from its keys),
the tool

1. exports it once per target (``tools/model_converters/pico2mm.py``,
   verified: zero missing / unexpected keys);
2. trains and evaluates each chosen benchmark config with the real
   MMSeg / MMDet ``Runner`` (one subprocess per benchmark, so mmseg and mmdet
   never share registries or visualizers), keeping each run's metrics in
   ``WORK_DIR/<benchmark>/metrics.json``;
3. prints the table in the paper's layout, with the paper's numbers beside
   (``PAPER``), and writes ``WORK_DIR/results.json``.

Benchmarks: ``coco`` (COCO semantic seg, 54 classes: mIoU, fIoU),
``maskrcnn`` (frozen Mask R-CNN: AP^bb, AP^mk), ``voc``, ``cityscapes``
(mIoU) and ``nyu`` (depth RMSE).

Example::

    python tools/benchmark.py work_dirs/pico/epoch_200.pth \
        --benchmarks coco voc --work-dir work_dirs/bench_pico
    python tools/benchmark.py --results work_dirs/bench_pico/results.json
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

# Make the repo importable when pico_mm is not pip-installed (plain clone).
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEG = 'configs/benchmarks/mmseg/'
DET = 'configs/benchmarks/mmdet/'
BENCHMARKS = {
    'coco': dict(task='seg', dataset='COCO (54 cls)',
                 pico=SEG + 'linear_pico_r50_4xb4-40k_coco-semseg54-'
                 '512x512.py',
                 moco=SEG + 'linear_mocov2_r50-dilated_4xb4-40k_coco-semseg54-'
                 '512x512.py'),
    'maskrcnn': dict(task='det', dataset='COCO',
                     pico=DET + 'mask-rcnn_pico_r50_fpn-frozen_1x_coco.py',
                     moco=DET + 'mask-rcnn_mocov2_r50_fpn-backbone-frozen_1x_'
                     'coco.py'),
    'voc': dict(task='seg', dataset='VOC 2012',
                pico=SEG + 'linear_pico_r50_4xb4-20k_voc12aug-512x512.py',
                moco=SEG + 'linear_mocov2_r50-dilated_4xb4-20k_voc12aug-'
                '512x512.py'),
    'cityscapes': dict(task='seg', dataset='Cityscapes',
                       pico=SEG + 'linear_pico_r50_4xb2-40k_cityscapes-'
                       '512x1024.py',
                       moco=SEG + 'linear_mocov2_r50-dilated_4xb2-40k_'
                       'cityscapes-512x1024.py'),
    'nyu': dict(task='seg', dataset='NYU-depth v2',
                pico=SEG + 'depth_pico_r50_4xb8-25k_nyu-480x640.py',
                moco=SEG + 'depth_mocov2_r50-dilated_4xb8-25k_nyu-480x640.py'),
}
# Reference numbers of the paper (Sharma et al., "Pixel-level Correspondence
# for Self-Supervised Learning from Video", arXiv 2207.03866, Tables 1-3).
# The paper's tables could not be read from this environment, so no number
# is filled in: 'n/a' means "not verified here", not "not reported". Replace
# an 'n/a' only with a value checked against the paper.
NA = 'n/a'
PAPER = {
    'PiCo': {
        'coco': dict(mIoU=NA, fIoU=NA),
        'maskrcnn': dict(bbox_mAP=NA, bbox_mAP_50=NA, bbox_mAP_75=NA,
                         segm_mAP=NA, segm_mAP_50=NA, segm_mAP_75=NA),
        'voc': dict(mIoU=NA), 'cityscapes': dict(mIoU=NA),
        'nyu': dict(rmse=NA),
    },
    'MoCo-v2': {
        'coco': dict(mIoU=NA, fIoU=NA),
        'maskrcnn': dict(bbox_mAP=NA, bbox_mAP_50=NA, bbox_mAP_75=NA,
                         segm_mAP=NA, segm_mAP_50=NA, segm_mAP_75=NA),
        'voc': dict(mIoU=NA), 'cityscapes': dict(mIoU=NA),
        'nyu': dict(rmse=NA),
    },
}
DET_KEYS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'segm_mAP',
            'segm_mAP_50', 'segm_mAP_75')


def load_tool(name: str):
    """Import ``tools/model_converters/<name>.py`` by path."""
    import importlib.util
    path = osp.join(REPO, 'tools', 'model_converters', name + '.py')
    spec = importlib.util.spec_from_file_location('_pico_' + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------ config edits
def _datasets(dataset_cfg) -> list:
    """All leaf dataset configs (unwraps ConcatDataset / RepeatDataset)."""
    if 'datasets' in dataset_cfg:
        return [d for sub in dataset_cfg['datasets'] for d in _datasets(sub)]
    if 'dataset' in dataset_cfg:
        return _datasets(dataset_cfg['dataset'])
    return [dataset_cfg]


def set_data_root(cfg, root: str) -> None:
    """Point every dataloader (and COCO's evaluator) at ``root``.

    Args:
        cfg (Config): Benchmark config, edited in place.
        root (str): Dataset root (e.g. ``data/coco``).
    """
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            for ds in _datasets(cfg[key]['dataset']):
                ds['data_root'] = root
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        if isinstance(ev, dict) and ev.get('ann_file'):
            ev['ann_file'] = osp.join(root, 'annotations',
                                      osp.basename(ev['ann_file']))


def set_checkpoint(cfg, task: str, ckpt: str) -> None:
    """Set the exported weights: ``model.backbone.checkpoint`` (mmseg,
    strict) or ``load_from`` (mmdet)."""
    if task == 'seg':
        cfg.model.backbone.checkpoint = ckpt
    else:
        cfg.load_from = ckpt


def run_config(cfg, work_dir: str, eval_only: bool = False,
               return_runner: bool = False):
    """Train (unless ``eval_only``) and evaluate one config in-process.

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


# ------------------------------------------------------------------- table
def _fmt(v) -> str:
    if isinstance(v, (int, float)):
        return f'{v:.2f}' if abs(v) >= 1 else f'{v:.3f}'
    return str(v)


def pick(metrics: Dict, key: str):
    """Metric by short name; mmdet prefixes ``coco/`` and gives [0, 1]."""
    if key in metrics:
        return metrics[key]
    if 'coco/' + key in metrics:
        return round(100 * float(metrics['coco/' + key]), 2)
    return '-'


def load_paper_numbers(path: str) -> Dict[str, Dict[str, Dict]]:
    """``PAPER`` with the entries of a user's JSON file laid over it.

    The file has ``PAPER``'s layout, e.g.
    ``{"PiCo": {"coco": {"mIoU": 0.0, "fIoU": 0.0}, "nyu": {"rmse": 0.0}}}``
    (method -> benchmark -> metric; the metric names of ``PAPER``).

    Raises:
        ValueError: Unreadable file or an unknown method/benchmark/metric
            (the message names the file and the key).
    """
    try:
        with open(path) as f:
            user = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: cannot read paper numbers ({err}); give a '
                         'JSON file laid out like PAPER in tools/benchmark.py'
                         ) from err
    merged = copy.deepcopy(PAPER)
    for method, benches in user.items():
        if method not in merged or not isinstance(benches, dict):
            raise ValueError(f'{path}: unknown method {method!r}; use one of '
                             f'{sorted(merged)}')
        for bench, metrics in benches.items():
            known = merged[method].get(bench)
            if known is None or not isinstance(metrics, dict):
                raise ValueError(f'{path}: unknown benchmark {bench!r} under '
                                 f'{method!r}; use one of {sorted(BENCHMARKS)}')
            for key, value in metrics.items():
                if key not in known:
                    raise ValueError(
                        f'{path}: unknown metric {key!r} for {method}/{bench}; '
                        f'use one of {sorted(known)}')
                known[key] = value
    return merged


def format_table(results: Dict[str, Dict[str, Dict]],
                 paper: Optional[Dict[str, Dict[str, Dict]]] = None) -> str:
    """Paper-layout tables.

    Args:
        results (dict): ``{method: {benchmark: metrics}}``.

    Returns:
        str: Three text tables (COCO seg, Mask R-CNN, transfer).
    """
    lines = []

    def table(title, header, rows):
        widths = [max(len(str(r[i])) for r in [header] + rows)
                  for i in range(len(header))]
        lines.append(title)
        for r in [header] + rows:
            lines.append(' | '.join(
                str(c).ljust(w) for c, w in zip(r, widths)))
        lines.append('')

    paper = PAPER if paper is None else paper
    methods = list(results)
    rows = []
    for m in methods:
        if 'coco' in results[m]:
            r, p = results[m]['coco'], paper.get(m, {}).get('coco', {})
            rows.append([m, BENCHMARKS['coco']['dataset'],
                         _fmt(pick(r, 'mIoU')), _fmt(pick(r, 'fIoU')),
                         p.get('mIoU', NA), p.get('fIoU', NA)])
    if rows:
        table('Semantic segmentation, frozen features + linear probe',
              ['Method', 'Dataset', 'mIoU', 'fIoU', 'paper mIoU',
               'paper fIoU'], rows)
    rows = []
    for m in methods:
        if 'maskrcnn' in results[m]:
            r, p = results[m]['maskrcnn'], paper.get(m, {}).get('maskrcnn', {})
            rows.append([m] + [_fmt(pick(r, k)) for k in DET_KEYS])
            rows.append([f'{m} (paper)'] + [p.get(k, NA) for k in DET_KEYS])
    if rows:
        table('Mask R-CNN R50-FPN 1x, frozen backbone (+FPN)',
              ['Method', 'AP^bb', 'AP^bb_50', 'AP^bb_75', 'AP^mk',
               'AP^mk_50', 'AP^mk_75'], rows)
    rows = []
    for m in methods:
        got = [b for b in ('voc', 'cityscapes', 'nyu') if b in results[m]]
        if got:
            r, p = results[m], paper.get(m, {})
            vals = [_fmt(pick(r[b], 'rmse' if b == 'nyu' else 'mIoU'))
                    if b in r else '-' for b in ('voc', 'cityscapes', 'nyu')]
            ref = [p.get(b, {}).get('rmse' if b == 'nyu' else 'mIoU', NA)
                   for b in ('voc', 'cityscapes', 'nyu')]
            rows.append([m] + vals + ref)
    if rows:
        table('Transfer, frozen features + linear probe',
              ['Method', 'VOC mIoU', 'CS mIoU', 'NYU RMSE', 'paper VOC',
               'paper CS', 'paper NYU'], rows)
    return '\n'.join(lines)


def write_json_atomic(obj, path: str) -> None:
    """Write JSON to a temp file, then rename."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', dir=osp.dirname(
        osp.abspath(path)))
    with os.fdopen(fd, 'w') as f:
        json.dump(obj, f, indent=1, default=float)
    os.replace(tmp, path)


# -------------------------------------------------------------------- CLI
def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        description='Export a PiCo/MoCo-v2 checkpoint, run the frozen-feature '
        'MMSeg/MMDet benchmarks and print the paper-layout table.')
    p.add_argument('checkpoint', nargs='?',
                   help='PiCo training checkpoint or MoCo-v2 checkpoint')
    p.add_argument('--benchmarks', nargs='+', default=['coco'],
                   choices=sorted(BENCHMARKS) + ['all'])
    p.add_argument('--method', default=None,
                   help='row name (default: PiCo or MoCo-v2 from the keys)')
    p.add_argument('--work-dir', default='work_dirs/benchmark')
    p.add_argument('--data-root', action='append', default=[],
                   metavar='BENCH=PATH', help='dataset root of a benchmark, '
                   'e.g. coco=data/coco (default: the config\'s data/...)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='mmengine overrides applied to every benchmark run')
    p.add_argument('--results', default=None,
                   help='only print the table of an existing results.json')
    p.add_argument('--paper', default=None, metavar='JSON',
                   help='reference numbers to print beside yours, laid out '
                   'like PAPER in this file (method -> benchmark -> metric); '
                   'fills the "n/a" cells')
    p.add_argument('--run-one', nargs=4, metavar=('BENCH', 'CONFIG', 'CKPT',
                                                   'OUT'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _run_one(args) -> int:
    """Subprocess body: one benchmark, metrics to OUT (json)."""
    from mmengine.config import Config
    bench, config, ckpt, out = args.run_one
    cfg = Config.fromfile(config)
    set_checkpoint(cfg, BENCHMARKS[bench]['task'], ckpt)
    roots = dict(kv.split('=', 1) for kv in args.data_root)
    if bench in roots:
        set_data_root(cfg, roots[bench])
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    metrics = run_config(cfg, osp.dirname(out))
    write_json_atomic(metrics, out)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.run_one:
        return _run_one(args)
    paper = None
    if args.paper:
        try:
            paper = load_paper_numbers(args.paper)
        except ValueError as err:
            print(f'error: {err}', file=sys.stderr)
            return 1
    if args.results:
        if not osp.isfile(args.results):
            print(f'error: {args.results}: not found; run the benchmarks '
                  'first', file=sys.stderr)
            return 1
        with open(args.results) as f:
            print(format_table(json.load(f), paper))
        return 0
    if not args.checkpoint:
        print('error: give a checkpoint (or --results FILE)', file=sys.stderr)
        return 1
    benches = sorted(BENCHMARKS) if 'all' in args.benchmarks else \
        args.benchmarks
    p2m = load_tool('pico2mm')
    exports, source = {}, None
    for target in sorted({'mmdet' if BENCHMARKS[b]['task'] == 'det' else
                          'mmseg' for b in benches}):
        dst = osp.join(args.work_dir, 'export', f'{target}.pth')
        try:
            info = p2m.export(args.checkpoint, dst, target)
        except p2m.ExportError as err:
            print(f'error: {err}', file=sys.stderr)
            return 1
        exports[target], source = dst, info['source']
    method = args.method or ('PiCo' if source == 'pico' else 'MoCo-v2')
    variant = 'pico' if source == 'pico' else 'moco'
    results_path = osp.join(args.work_dir, 'results.json')
    results = {}
    if osp.isfile(results_path):
        with open(results_path) as f:
            results = json.load(f)
    results.setdefault(method, {})
    failed = []
    for bench in benches:
        spec = BENCHMARKS[bench]
        out = osp.join(args.work_dir, bench, 'metrics.json')
        ckpt = exports['mmdet' if spec['task'] == 'det' else 'mmseg']
        cmd = [sys.executable, osp.abspath(__file__), '--run-one', bench,
               osp.join(REPO, spec[variant]), ckpt, out]
        for kv in args.data_root:
            cmd += ['--data-root', kv]
        if args.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in
                                        args.cfg_options.items()]
        t0 = time.time()
        print(f'[benchmark] {method} {bench}: {spec[variant]}', flush=True)
        rc = subprocess.call(cmd)
        if rc != 0 or not osp.isfile(out):
            failed.append(bench)
            print(f'[benchmark] {bench} FAILED (exit {rc}); see '
                  f'{osp.dirname(out)}', file=sys.stderr)
            continue
        with open(out) as f:
            results[method][bench] = json.load(f)
        print(f'[benchmark] {bench} done in {time.time() - t0:.0f} s')
        write_json_atomic(results, results_path)
    print(format_table(results, paper))
    print(f'results: {results_path}; ok {len(benches) - len(failed)}, '
          f'failed {len(failed)} {failed if failed else ""}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
