#!/usr/bin/env python
"""Videos → optical-flow stores (one zip per video), resumable and shardable.

Examples::

    # CPU, OpenCV DIS flow, a folder of videos (mp4/avi/webm/mkv/...)
    python tools/data/extract_flow.py data/k400/videos_train data/k400/flow --backend dis

    # GPU, RAFT with MMFlow's mixed checkpoint (converted on the fly), 4 shards
    python tools/data/extract_flow.py data/k400/train_list_videos.txt data/k400/flow \\
        --backend raft --raft-checkpoint raft_8x2_100k_mixed_368x768.pth --shard 0 --num-shards 4

    # one node, 8 GPUs: each process takes the GPU of its local rank
    torchrun --nproc-per-node 8 tools/data/extract_flow.py videos flow \\
        --backend raft --raft-checkpoint raft.pth

    # YT8M-style long videos: shots → 10 s snippets, one store per snippet
    python tools/data/extract_flow.py data/yt8m/videos data/yt8m/flow --shots

Outputs ``OUT_DIR/<rel>.zip`` (``<rel>`` = path relative to INPUT without the
extension; ``OUT_DIR/<rel>/snippet_<start>.zip`` + ``snippets.json`` with
``--shots``) and a log ``OUT_DIR/extract_flow.shard<i>of<n>.log``. Each store
also keeps the frames as JPEG (``--frame-quality 90``; ``--no-frames`` for
none) so training reads two frames without decoding the video.

Shards come from the launcher (torchrun, srun, Slurm arrays and their
nestings; ``pico_mm/utils/shard_env.py``, docs/flow.md "Clusters"). RAFT
runs on this process's GPU (``cuda:{local_rank % GPUs}``) and stops at once
where none is visible, unless ``--device cpu`` asks for the CPU. An
unreadable or too-short video is skipped, named and listed in
``OUT_DIR/extract_flow.shard<i>of<n>.failed.txt``; any other error (CUDA,
out of memory, disk full, ...) stops the process. Exit status: 0 done, 1 more
than ``--max-failed`` of this shard's videos failed, 2 bad arguments or
launch, 3 a fault.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import (EXIT_FAULT, EXIT_USAGE,  # noqa: E402
                                     DataProblem, JobItem, LaunchError,
                                     add_shard_args, default_log_path,
                                     resolve_launch, run_and_report)

DIS_PRESETS = ('fast', 'medium', 'ultrafast')  # pico_mm.flow.backends.DIS_PRESETS
# Warn above 1% clipped flow values: the real 256p clips measured in
# docs/flow.md clip 0.003-0.009% (hand-held, animation) and 4.4% (fast pan).
CLIP_WARN = 0.01


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Extract forward+backward optical flow of videos into '
        'per-video zip stores of JPEG-coded flow (see docs/flow.md).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('input', help='folder of videos and/or mmaction2 rawframe '
                   'folders (img_%%05d.jpg), one video, one rawframe folder, or '
                   'an mmaction2 list file ("path label" or "frame_dir total label")')
    p.add_argument('out_dir', help='output folder for the flow stores')
    p.add_argument('--backend', choices=['dis', 'raft'], default='dis',
                   help='flow method: OpenCV DIS (CPU) or RAFT (GPU)')
    p.add_argument('--raft-checkpoint', default=None,
                   help='MMFlow or torchvision raft_large weights (a path; never downloaded)')
    p.add_argument('--raft-iters', type=int, default=32, help='RAFT refinement iterations')
    p.add_argument('--device', default='auto',
                   help="RAFT device: auto or cuda (this process's GPU, "
                   'LOCAL_RANK/SLURM_LOCALID modulo the visible GPUs; an '
                   'error where none is visible), cuda:I, or cpu (on purpose: '
                   'slow). DIS always runs on the CPU')
    p.add_argument('--precision', choices=['fp32', 'bf16'], default=None,
                   help='RAFT arithmetic: fp32 (default) or bf16 autocast '
                   '(see docs/flow.md for its measured EPE change)')
    p.add_argument('--bf16', action='store_true', help='same as --precision bf16')
    p.add_argument('--dis-preset', choices=DIS_PRESETS, default='medium')
    p.add_argument('--bound', type=float, default=20.0, help='flow clip bound B in px')
    p.add_argument('--clip-warn', type=float, default=CLIP_WARN,
                   help='warn about videos whose fraction of flow values '
                   'beyond ±bound exceeds this (tracks stop at clipped flow '
                   "as 'saturated'; see docs/flow.md)")
    p.add_argument('--quality', type=int, default=95, help='JPEG quality (1-100)')
    p.add_argument('--frame-quality', type=int, default=90,
                   help='JPEG quality of the frames kept in each store for '
                   'training (the flow is computed on these decoded frames)')
    p.add_argument('--no-frames', action='store_true',
                   help='keep no frames in the stores (training then decodes '
                   'the source videos: slow); flow on the source frames')
    p.add_argument('--fps', type=float, default=30.0,
                   help='target frame rate (0 = keep the source rate)')
    p.add_argument('--source-fps', type=float, default=None,
                   help='override the source rate (rawframes are taken as '
                   'already at --fps unless this is given)')
    p.add_argument('--short-side', type=int, default=256,
                   help='resize short side to this (0 = keep size)')
    p.add_argument('--batch-size', type=int, default=8, help='frame pairs per backend call')
    p.add_argument('--data-root', default=None,
                   help='root for relative paths in a list file (default: its folder)')
    p.add_argument('--shots', action='store_true',
                   help='YT8M-style: split into shots, cut snippets, one store per snippet')
    p.add_argument('--snippet-seconds', type=float, default=10.0)
    p.add_argument('--min-snippet-seconds', type=float, default=2.0,
                   help='keep a shot remainder only if at least this long')
    p.add_argument('--shot-threshold', type=float, default=0.5,
                   help='histogram detector cut threshold (TV distance 0..1); '
                   'ignored where <video>.scenes.txt/.predictions.txt exist')
    p.add_argument('--overwrite', action='store_true', help='redo finished videos')
    p.add_argument('--threads', type=int, default=None,
                   help='torch/OpenCV CPU threads (default: library default)')
    p.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    add_shard_args(p)
    return p.parse_args(argv)


def flow_device(args, launch) -> str:
    """Device of this process's flow backend, for the backend and the log.

    Raises:
        ValueError: DIS with a GPU device.
        NoGPUError: RAFT asked for a GPU and none is visible.
    """
    if args.backend == 'dis':
        if args.device not in ('auto', 'cpu'):
            raise ValueError(f'--device {args.device}: DIS is a CPU method; '
                             '--device applies to --backend raft')
        return 'cpu'
    import torch

    from pico_mm.utils.shard_env import resolve_device
    return resolve_device(args.device, torch.cuda.device_count(),
                          launch.local_rank, 'RAFT (--backend raft)',
                          '--device cpu')


def main(argv=None) -> int:
    args = parse_args(argv)
    for opt in ('quality', 'frame_quality'):
        if not 1 <= getattr(args, opt) <= 100:
            print(f"error: --{opt.replace('_', '-')} must be in 1..100, got "
                  f'{getattr(args, opt)}', file=sys.stderr)
            return 2
    if args.bound <= 0:
        print(f'error: --bound must be > 0, got {args.bound}', file=sys.stderr)
        return 2
    # heavy imports (torch via pico_mm) only after the arguments are valid
    from pico_mm.flow.backends import build_backend
    from pico_mm.flow.extract import (extract_snippets, extract_video,
                                      list_inputs, write_json)
    from pico_mm.flow.video import VideoReadError
    from pico_mm.utils.shard_env import NoGPUError
    try:  # launch and device first: a GPU-less RAFT run stops before any I/O
        launch = resolve_launch(args.shard, args.num_shards)
        device = flow_device(args, launch)
        inputs = list_inputs(args.input, args.data_root)
    except (LaunchError, NoGPUError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_USAGE
    if not inputs:
        print(f'error: {args.input}: no videos (.mp4/.avi/.webm/.mkv/...) or '
              'rawframe folders (img_00001.jpg) found', file=sys.stderr)
        return EXIT_USAGE
    if args.threads:
        import cv2
        cv2.setNumThreads(args.threads)
        if args.backend == 'raft':
            import torch
            torch.set_num_threads(args.threads)
    try:
        backend = build_backend(args.backend, preset=args.dis_preset,
                                checkpoint=args.raft_checkpoint, iters=args.raft_iters,
                                device=device, bf16=args.bf16, precision=args.precision,
                                batch_size=args.batch_size)
    except (OSError, ValueError, RuntimeError, ImportError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_USAGE

    from pico_mm.flow.video import is_rawframe_dir
    if os.path.isfile(args.input) and not args.input.lower().endswith(
            ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg', '.mpeg', '.flv', '.wmv')):
        root = args.data_root or os.path.dirname(os.path.abspath(args.input))
    elif os.path.isfile(args.input) or is_rawframe_dir(args.input):
        root = os.path.dirname(os.path.abspath(args.input))
    else:
        root = args.input
    fps = args.fps or None
    short = args.short_side or None
    items = []
    for rel, path, kind in inputs:
        if args.shots:
            out = os.path.join(args.out_dir, rel, 'snippets.json')
        else:
            out = os.path.join(args.out_dir, rel + '.zip')
        items.append(JobItem(rel, out, (path, kind)))

    clipped = []  # (name, fraction) of videos above --clip-warn

    def clip_note(name: str, fraction: float) -> str:
        if fraction <= args.clip_warn:
            return ''
        clipped.append((name, fraction))
        return (f' WARNING: {100 * fraction:.2f}% of flow values beyond '
                f'±{args.bound:g} px')

    def worker(item: JobItem, tmp: str) -> str:
        path, kind = item.payload
        common = dict(fps=fps, short_side=short, bound=args.bound,
                      quality=args.quality, batch_size=args.batch_size,
                      source_rel=os.path.relpath(os.path.abspath(path),
                                                 os.path.abspath(root)),
                      source_fps=args.source_fps,
                      frame_quality=None if args.no_frames else args.frame_quality)
        if args.shots:
            if kind != 'video':
                raise DataProblem(f'{path}: --shots needs video files, not '
                                  'rawframes')
            man = extract_snippets(path, os.path.dirname(item.output), backend,
                                   snippet_seconds=args.snippet_seconds,
                                   min_seconds=args.min_snippet_seconds,
                                   shot_threshold=args.shot_threshold,
                                   resume=not args.overwrite, **common)
            write_json(tmp, man)
            worst = max([s.get('clip_fraction', 0.0) for s in man['snippets']]
                        or [0.0])
            return (f"{len(man['shots'])} shots ({man['detector']}), "
                    f"{len(man['snippets'])} snippets, most clipped "
                    f"{100 * worst:.3f}%" + clip_note(item.name, worst))
        meta = extract_video(path, tmp, backend, kind, **common)
        kept = (f", frames kept {meta['frames']['bytes'] / 1e6:.2f} MB"
                if meta.get('frames') else '')
        return (f"{meta['num_frames']} frames {meta['height']}x{meta['width']}, "
                f"clipped {100 * meta['clip_fraction']:.3f}%{kept}"
                + clip_note(item.name, meta['clip_fraction']))

    os.makedirs(args.out_dir, exist_ok=True)
    log = default_log_path(args.out_dir, 'extract_flow', launch.shard)
    how = ('DIS is a CPU method' if args.backend == 'dis' else
           'RAFT on the CPU, asked for with --device cpu'
           if device == 'cpu' else 'RAFT')
    _, status = run_and_report(
        items, worker, log_path=log, desc='extract_flow',
        overwrite=args.overwrite, progress=not args.no_progress,
        max_failed=args.max_failed, data_errors=(DataProblem, VideoReadError),
        launch=launch, device=f'{device} ({how})')
    if status == EXIT_FAULT:
        print(f'log: {log}')
        return status
    if clipped:
        print(f'WARNING: {len(clipped)} video(s) have more than '
              f'{100 * args.clip_warn:g}% of flow values beyond ±{args.bound:g}'
              " px; tracks stop there ('saturated'). Fast motion: consider "
              '--bound 40 (coarser code) or a lower --short-side. Worst: '
              + ', '.join(f'{n} {100 * f:.2f}%' for n, f in
                          sorted(clipped, key=lambda x: -x[1])[:5]),
              file=sys.stderr)
    print(f'log: {log}')
    return status


if __name__ == '__main__':
    sys.exit(main())
