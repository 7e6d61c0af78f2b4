#!/usr/bin/env python
"""Run pico_mm's frozen-feature benchmarks for one checkpoint; print a table.

Given a PiCo training checkpoint (or a MoCo-v2 one, detected from its keys),
the tool runs, one command after the other (``--dry-run`` prints them):

1. ``tools/model_converters/pico2mm.py`` once per target (mmseg / mmdet),
   verified: zero missing / unexpected keys;
2. per benchmark, ``tools/train.py`` then ``tools/test.py`` on its config,
   with as many GPUs as the config name says (``4xb4`` = 4 GPUs x 4 images,
   ``8xb2`` = 8 x 2) through ``python -m torch.distributed.run ...
   --launcher pytorch``; ``--gpus N`` overrides that, with a loud warning
   when the total batch then differs from the name (the learning rate is
   rescaled only with ``--auto-scale-lr``);
3. prints the tables in the paper's layout with the paper's numbers
   (``PAPER``, Tables 1-3) below yours, and writes ``WORK_DIR/results.json``.

Benchmarks: ``coco`` (COCO semantic seg, 54 classes: mIoU, fIoU),
``maskrcnn`` (frozen Mask R-CNN: AP^bb, AP^mk), ``voc``, ``cityscapes``
(mIoU) and ``nyu`` (depth RMSE).

Example::

    python tools/benchmark.py \
        work_dirs/pico_r50-fpn_8xb32-coslr-100e_k400/epoch_100.pth \
        --benchmarks coco voc --work-dir work_dirs/bench_pico --dry-run
    python tools/benchmark.py --results work_dirs/bench_pico/results.json
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
import warnings
from typing import Dict, List, Optional, Tuple

# mmengine 0.10.7 imports pkg_resources (deprecated in setuptools 80): one
# warning per config read would bury the commands --dry-run prints.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

# Make the repo importable when pico_mm is not pip-installed (plain clone).
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from pico_mm.utils.benchmark_cfg import (  # noqa: E402,F401  (re-exported)
    WEIGHTS_KEY, data_root_overrides, final_checkpoint_name, name_scale,
    parse_cfg_options, run_config, set_checkpoint, set_data_root)
from pico_mm.utils.benchmark_table import DASH  # noqa: E402,F401
from pico_mm.utils.benchmark_table import \
    format_table as _format_table  # noqa: E402

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
                     pico=DET + 'mask-rcnn_pico_r50_fpn-frozen_8xb2-1x_coco.py',
                     moco=DET + 'mask-rcnn_mocov2_r50_fpn-backbone-frozen_'
                     '8xb2-1x_coco.py'),
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
# Reference numbers of the paper (Sharma, Zhu, Russell, Brox, "Pixel-level
# Correspondence for Self-Supervised Learning from Video", arXiv 2207.03866),
# Tables 1-3, transcribed in ../shared/notes/paper_tables.md; the values are
# the strings printed there (tests/tools_eval/test_eval_benchmark_table.py
# compares them with that file). All are frozen-feature evaluations of a
# ResNet-50 initialised with MoCo-v2 (IN-1K). A cell the paper does not print
# is absent and shown as "–": Table 2 and 3 have no MoCo-v2 row and only K400
# pre-training.
PAPER = {
    ('MoCo-v2', 'IN-1K'): {'coco': dict(mIoU='11.2', fIoU='39.9')},
    ('Static (Frame)', 'K400'): {
        'coco': dict(mIoU='18.4', fIoU='49.5'),
        'maskrcnn': dict(bbox_mAP='6.09', bbox_mAP_50='15.1',
                         bbox_mAP_75='3.73', segm_mAP='7.37',
                         segm_mAP_50='14.8', segm_mAP_75='6.64'),
        'voc': dict(mIoU='31.0'), 'cityscapes': dict(mIoU='34.0'),
        'nyu': dict(rmse='1.000')},
    ('Static (Video)', 'K400'): {
        'coco': dict(mIoU='18.7', fIoU='49.5'),
        'maskrcnn': dict(bbox_mAP='7.92', bbox_mAP_50='19.7',
                         bbox_mAP_75='4.60', segm_mAP='9.06',
                         segm_mAP_50='18.7', segm_mAP_75='7.72'),
        'voc': dict(mIoU='34.7'), 'cityscapes': dict(mIoU='28.7'),
        'nyu': dict(rmse='0.958')},
    ('PiCo', 'K400'): {
        'coco': dict(mIoU='20.9', fIoU='51.6'),
        'maskrcnn': dict(bbox_mAP='10.8', bbox_mAP_50='24.3',
                         bbox_mAP_75='7.94', segm_mAP='11.9',
                         segm_mAP_50='23.1', segm_mAP_75='10.9'),
        'voc': dict(mIoU='35.6'), 'cityscapes': dict(mIoU='35.1'),
        'nyu': dict(rmse='0.950')},
    ('Static (Frame)', 'YT8M-S'): {'coco': dict(mIoU='17.0', fIoU='48.3')},
    ('Static (Video)', 'YT8M-S'): {'coco': dict(mIoU='18.3', fIoU='49.6')},
    ('PiCo', 'YT8M-S'): {'coco': dict(mIoU='19.9', fIoU='50.5')},
}
LOUD = '!' * 78


def format_table(results: Dict[str, Dict[str, Dict]]) -> str:
    """Paper-layout tables: your ``{method: {benchmark: metrics}}`` rows,
    then the paper's (``PAPER``)."""
    return _format_table(results, PAPER)


def _rel(path: str) -> str:
    """``path`` relative to the current dir when below it, else absolute."""
    rel = osp.relpath(osp.abspath(path))
    return rel if not rel.startswith('..') else osp.abspath(path)


def _tool(name: str) -> str:
    return _rel(osp.join(REPO, 'tools', name))


def detect_variant(ckpt: str, method: Optional[str],
                   trust: bool) -> Tuple[str, str]:
    """``('pico'|'moco', note)`` from the checkpoint's keys (or ``method``
    when the file is absent, for ``--dry-run``)."""
    if not osp.isfile(ckpt):
        variant = 'moco' if (method or '').lower().startswith('moco') \
            else 'pico'
        return variant, (f'{ckpt} does not exist yet: commands for the '
                         f'{variant} configs (--method MoCo-v2 for the '
                         'baseline)')
    import importlib.util
    path = osp.join(REPO, 'tools', 'model_converters', 'pico2mm.py')
    spec = importlib.util.spec_from_file_location('_pico_pico2mm', path)
    p2m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(p2m)
    try:
        return p2m.detect_source(p2m.load_state(ckpt, trust)), ''
    except p2m.ExportError as err:
        raise ValueError(str(err)) from None


def plan(args, variant: str) -> List[Dict]:
    """Every step of a run: ``{'name', 'cmd', 'out', 'warning'}`` dicts.

    Raises:
        ValueError: Bad ``--data-root`` / ``--cfg-options`` / ``--gpus``.
    """
    from mmengine.config import Config
    roots = {}
    for kv in args.data_root:
        bench, _, root = kv.partition('=')
        if bench not in BENCHMARKS or not root:
            raise ValueError(f'--data-root {kv!r}: expected BENCH=PATH with '
                             f'BENCH one of {sorted(BENCHMARKS)}')
        roots[bench] = root
    user = parse_cfg_options(args.cfg_options)
    py = [sys.executable]
    trust = ['--trust-checkpoint'] if args.trust_checkpoint else []
    benches = sorted(BENCHMARKS) if 'all' in args.benchmarks else \
        list(dict.fromkeys(args.benchmarks))
    targets = sorted({'mmdet' if BENCHMARKS[b]['task'] == 'det' else 'mmseg'
                      for b in benches})
    exports = {t: osp.join(args.work_dir, 'export', f'{t}.pth')
               for t in targets}
    steps = [dict(name=f'export {t}', bench=None, warning='', out=exports[t],
                  cmd=py + [_tool('model_converters/pico2mm.py'),
                            args.checkpoint, exports[t], '--target', t] +
                  trust) for t in targets]
    for bench in benches:
        spec = BENCHMARKS[bench]
        config = _rel(osp.join(REPO, spec[variant]))
        cfg = Config.fromfile(config, import_custom_modules=False)
        export = exports['mmdet' if spec['task'] == 'det' else 'mmseg']
        options = {WEIGHTS_KEY[spec['task']]: export}
        if bench in roots:
            options.update(data_root_overrides(cfg, roots[bench]))
        cfg.merge_from_dict({**options, **user})
        scale = name_scale(config)
        if scale is None:
            raise ValueError(f'{config}: the name has no NxbB part (GPUs x '
                             'images per GPU); rename it, e.g. ..._8xb2-1x_...')
        gpus = args.gpus if args.gpus is not None else scale[0]
        if gpus < 1:
            raise ValueError(f'--gpus {gpus}: need at least 1')
        warning = batch_warning(bench, config, scale, gpus, cfg,
                                args.auto_scale_lr)
        work = osp.join(args.work_dir, bench)
        opts = ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()] \
            + list(args.cfg_options)
        launch = py + (['-m', 'torch.distributed.run',
                        f'--nproc_per_node={gpus}',
                        f'--master_port={args.port}'] if gpus > 1 else [])
        dist = ['--launcher', 'pytorch'] if gpus > 1 else []
        scale_lr = ['--auto-scale-lr'] if args.auto_scale_lr else []
        metrics = osp.join(work, 'metrics.json')
        steps.append(dict(
            name=f'{bench} train', bench=bench, warning=warning,
            out=osp.join(work, final_checkpoint_name(cfg)),
            cmd=launch + [_tool('train.py'), config] + dist +
            ['--work-dir', work] + scale_lr + trust + opts))
        steps.append(dict(
            name=f'{bench} test', bench=bench, warning='', out=metrics,
            cmd=launch + [_tool('test.py'), config, steps[-1]['out']] + dist
            + ['--work-dir', work, '--out', metrics] + opts))
    return steps


def batch_warning(bench: str, config: str, scale, gpus: int, cfg,
                  auto_scale_lr: bool) -> str:
    """Loud multi-line warning when GPUs x batch differs from the name."""
    per_gpu = int(cfg.train_dataloader.batch_size)
    want = scale[0] * scale[1]
    if gpus * per_gpu == want:
        return ''
    lr = cfg.optim_wrapper.get('optimizer', {}).get('lr')
    how = (f'--auto-scale-lr: the lr {lr} is scaled by {gpus * per_gpu}/'
           f'{want}' if auto_scale_lr else
           f'the lr {lr} is used as written (tuned for {want}); add '
           '--auto-scale-lr to scale it linearly')
    return '\n'.join([
        LOUD,
        f'WARNING: {bench} trains with a total batch of {gpus * per_gpu} '
        f'({gpus} GPU(s) x {per_gpu} images), but {osp.basename(config)} '
        f'is {scale[0]}xb{scale[1]} = {want}.',
        f'  {how}. These numbers are not comparable with the paper\'s; run '
        f'with --gpus {scale[0]} and the config\'s batch for that.', LOUD])


def _check_gpus(steps: List[Dict]) -> Optional[str]:
    """Error text when a step asks for more GPUs than are visible."""
    need = max([int(a.split('=')[1]) for s in steps for a in s['cmd']
                if a.startswith('--nproc_per_node=')] or [1])
    if need <= 1:
        return None
    import torch
    have = torch.cuda.device_count()
    if have >= need:
        return None
    return (f'the benchmarks need {need} GPUs (from the config names), this '
            f'machine has {have}; run on a bigger node, or pass --gpus '
            f'{max(have, 1)} (see the batch warning it prints), or '
            '--dry-run to print the commands')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Export a PiCo/MoCo-v2 checkpoint, train and evaluate the '
        'frozen-feature MMSeg/MMDet benchmarks at the scale their config names '
        'say, and print the paper-layout table (with the paper\'s numbers).')
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
    p.add_argument('--cfg-options', nargs='+', default=[],
                   metavar='KEY=VALUE',
                   help='mmengine overrides passed to every train/test run')
    p.add_argument('--gpus', type=int, default=None,
                   help='GPUs per run (default: the number in the config '
                   'name, 4 for 4xb4, 8 for 8xb2); 1 runs without torchrun')
    p.add_argument('--auto-scale-lr', action='store_true',
                   help='scale the lr by actual/config total batch (off by '
                   'default: a different batch only warns)')
    p.add_argument('--port', type=int, default=29500,
                   help='torchrun --master_port')
    p.add_argument('--dry-run', action='store_true',
                   help='print the exact commands and the reference table; '
                   'run nothing')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='let the checkpoint run pickled code if the '
                   'weights-only loader refuses it (files you trust only)')
    p.add_argument('--results', default=None,
                   help='only print the table of an existing results.json')
    return p.parse_args(argv)


def _print_table(results: Dict) -> None:
    print(format_table(results))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.results:
        if not osp.isfile(args.results):
            print(f'error: {args.results}: not found; run the benchmarks '
                  'first', file=sys.stderr)
            return 1
        with open(args.results) as f:
            _print_table(json.load(f))
        return 0
    if not args.checkpoint:
        print('error: give a checkpoint (or --results FILE)', file=sys.stderr)
        return 1
    if not args.dry_run and not osp.isfile(args.checkpoint):
        print(f'error: {args.checkpoint}: no such file; pass the path of a '
              'PiCo or MoCo-v2 checkpoint', file=sys.stderr)
        return 1
    try:
        variant, note = detect_variant(args.checkpoint, args.method,
                                       args.trust_checkpoint)
        steps = plan(args, variant)
    except ValueError as err:
        print(f'error: {err}'.splitlines()[0], file=sys.stderr)
        return 1
    method = args.method or ('PiCo' if variant == 'pico' else 'MoCo-v2')
    if args.dry_run:
        if note:
            print(f'# note: {note}')
        for step in steps:
            if step['warning']:
                print('\n'.join('# ' + ln for ln in
                                step['warning'].splitlines()))
            print(f'# {step["name"]}')
            print(shlex.join(step['cmd']))
        print()
        print('Reference numbers (paper, Tables 1-3); "–" = not printed '
              'in the paper:')
        _print_table({})
        return 0
    error = _check_gpus(steps)
    if error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    return execute(steps, args.work_dir, method)


def execute(steps: List[Dict], work_dir: str, method: str) -> int:
    """Run the steps; collect each benchmark's metrics into results.json."""
    results_path = osp.join(work_dir, 'results.json')
    results = {}
    if osp.isfile(results_path):
        with open(results_path) as f:
            results = json.load(f)
    results.setdefault(method, {})
    failed, warnings = [], []
    for step in steps:
        bench = step['bench']
        if bench in failed:
            continue
        if step['warning']:
            print(step['warning'], file=sys.stderr, flush=True)
            warnings.append(step['warning'])
        print(f'[benchmark] {step["name"]}: {shlex.join(step["cmd"])}',
              flush=True)
        t0 = time.time()
        rc = subprocess.call(step['cmd'], env=dict(
            os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (REPO, os.environ.get('PYTHONPATH')) if p)))
        if rc != 0 or not osp.isfile(step['out']):
            print(f'[benchmark] {step["name"]} FAILED (exit {rc}; expected '
                  f'{step["out"]})', file=sys.stderr)
            if bench is None:  # export failed: nothing can run
                return 1
            failed.append(bench)
            continue
        print(f'[benchmark] {step["name"]} done in {time.time() - t0:.0f} s')
        if step['name'].endswith(' test'):
            with open(step['out']) as f:
                results[method][bench] = json.load(f)
            from pico_mm.utils.batch_job import atomic_write_bytes
            atomic_write_bytes(results_path, json.dumps(
                results, indent=1).encode())
    _print_table(results)
    for w in warnings:
        print(w, file=sys.stderr)
    done = len({s['bench'] for s in steps if s['bench']}) - len(failed)
    print(f'results: {results_path}; ok {done}, failed {len(failed)} '
          f'{failed if failed else ""}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
