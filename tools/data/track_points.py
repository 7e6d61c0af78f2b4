#!/usr/bin/env python
"""Flow stores → point tracks (one ``.npz`` per video), resumable and shardable.

Examples::

    # all stores under data/k400/flow, 4096 seeds per video
    python tools/data/track_points.py data/k400/flow data/k400/tracks

    # looser consistency, motion-boundary stop, shard 3 of 16 (or take
    # RANK/WORLD_SIZE, SLURM_ARRAY_TASK_ID/COUNT from the environment)
    python tools/data/track_points.py data/k400/flow data/k400/tracks \\
        --alpha 0.04 --beta 2.0 --motion-boundary --shard 3 --num-shards 16

The default ``--alpha 0.02 --beta 1.0`` is the loosest point of the shipped
sweep (configs/pico/ablations): every config applies its own, stricter or
equal, ``alpha``/``beta`` at load time from the stored per-step terms, which
gives exactly the tracks a run at those values would give. A config asking for
a looser value than the file was tracked with is refused.

Every ``FLOW_DIR/<rel>.zip`` gives ``OUT_DIR/<rel>.npz`` (format in
docs/tracking.md); a log goes to ``OUT_DIR/track_points.shard<i>of<n>.log``.
Finished videos are skipped, outputs are written to a temp name and renamed,
unreadable stores are logged and skipped.
"""
import argparse
import os
import os.path as osp
import sys
import zlib
from typing import Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import (JobItem, add_shard_args,  # noqa: E402
                                     default_log_path, is_temp_path,
                                     resolve_shard, run_jobs)

DEFAULT_POINTS = 4096
# loosest (alpha, beta) of the shipped sweep (configs/pico/ablations)
EXTRACT_ALPHA, EXTRACT_BETA = 0.02, 1.0


def add_track_args(p: argparse.ArgumentParser,
                   device_alias: bool = True) -> None:
    """Tracking options (shared with tools/data/preprocess.py)."""
    p.add_argument('--points', type=int, default=DEFAULT_POINTS,
                   help='seeds per video, uniform in space and time')
    p.add_argument('--alpha', type=float, default=EXTRACT_ALPHA,
                   help='consistency: |w+ŵ|² < alpha (|w|²+|ŵ|²) + beta; '
                   'the loosest value any config will use (stricter ones '
                   'are applied at load time)')
    p.add_argument('--beta', type=float, default=EXTRACT_BETA,
                   help='consistency absolute tolerance in px² (loosest '
                   'value any config will use)')
    p.add_argument('--motion-boundary', action='store_true',
                   help='also stop at motion boundaries '
                   '(|∇u|²+|∇v|² > 0.01|w|² + 0.002)')
    p.add_argument('--seed', type=int, default=0,
                   help='global seed (each video also hashes its name)')
    names = ('--track-device', '--device') if device_alias else (
        '--track-device', )
    p.add_argument(*names, dest='track_device', default='auto',
                   help='tracking device: auto, cpu, cuda')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Track points through stored optical flow '
        '(forward-backward consistency, Sundaram et al. 2010).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('flow_dir', help='folder of flow stores (*.zip, searched '
                   'recursively) or a single store')
    p.add_argument('out_dir', help='output folder for the track files')
    add_track_args(p)
    p.add_argument('--overwrite', action='store_true',
                   help='redo videos whose track file exists')
    p.add_argument('--threads', type=int, default=None,
                   help='torch/OpenCV CPU threads (default: library default)')
    p.add_argument('--no-progress', action='store_true',
                   help='hide the progress bar')
    add_shard_args(p)
    return p.parse_args(argv)


def list_stores(flow_dir: str):
    """``(rel_without_ext, path)`` of every store zip under ``flow_dir``."""
    if osp.isfile(flow_dir):
        if not flow_dir.endswith('.zip'):
            raise ValueError(f'{flow_dir}: not a flow store (.zip); give the '
                             'folder written by tools/data/extract_flow.py')
        return [(osp.splitext(osp.basename(flow_dir))[0], flow_dir)]
    if not osp.isdir(flow_dir):
        raise ValueError(f'{flow_dir}: no such folder; run '
                         'tools/data/extract_flow.py first or fix the path')
    found = []
    for root, dirs, files in os.walk(flow_dir):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(root, name)
            if name.endswith('.zip') and not is_temp_path(path):
                rel = osp.relpath(path, flow_dir)[:-len('.zip')]
                found.append((rel.replace(os.sep, '/'), path))
    return found


def video_rng(seed: int, name: str):
    """Per-video generator: same seeds whatever the shard or the order."""
    import numpy as np
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def track_store(path: str, out_path: str, name: str, args,
                stop_counts: Optional[dict] = None) -> str:
    """Track one store and write its track file; returns a log line.

    ``stop_counts`` (stop name -> count), when given, is increased by this
    video's stop reasons (for the run summary).
    """
    import numpy as np

    from pico_mm.flow import FlowReader
    from pico_mm.tracking import STOP_NAMES, save_tracks, track_video
    device = None if args.track_device == 'auto' else args.track_device
    with FlowReader(path) as reader:
        if reader.num_frames < 2:
            raise ValueError(f'{path}: only {reader.num_frames} frame(s), '
                             'nothing to track')
        fm = reader.meta
        meta = dict(
            source=fm.get('source'), source_rel=fm.get('source_rel'),
            source_kind=fm.get('source_kind'), fps=fm.get('fps'),
            short_side=fm.get('short_side'),
            frame_offset=int(fm.get('frame_offset', 0)),
            source_fps_override=fm.get('source_fps_override'),
            flow_path=osp.abspath(path), flow_rel=name, seed=int(args.seed),
            flow_meta=fm)
        if fm.get('rawframe_tmpl'):
            meta['rawframe_tmpl'] = fm['rawframe_tmpl']
        tracks = track_video(reader.read, reader.num_frames,
                             reader.frame_size, args.points,
                             video_rng(args.seed, name), args.alpha,
                             args.beta, args.motion_boundary, device, meta,
                             saturation_bound=reader.bound)
    save_tracks(out_path, tracks, atomic=False)  # out_path is a temp name
    counts = np.bincount(tracks.stop, minlength=len(STOP_NAMES))
    if stop_counts is not None:
        for stop_name, c in zip(STOP_NAMES, counts):
            stop_counts[stop_name] = stop_counts.get(stop_name, 0) + int(c)
    per_frame = tracks.length.sum() / tracks.num_frames
    n = max(tracks.num_tracks, 1)
    return (f'{tracks.num_tracks} tracks over {tracks.num_frames} frames, '
            f'mean length {tracks.length.mean():.1f}, '
            f'{per_frame:.0f} alive per frame, stopped: ' + ', '.join(
                f'{s} {c / n:.1%}' for s, c in zip(STOP_NAMES, counts)
                if s != 'end'))


def format_stop_counts(stop_counts: dict) -> str:
    """One summary line: how the tracks of this run stopped."""
    total = max(sum(stop_counts.values()), 1)
    return 'track stops: ' + ', '.join(
        f'{k} {v} ({v / total:.1%})' for k, v in stop_counts.items())


def check_track_args(args) -> str:
    """Return an error message for bad tracking options, or ''."""
    if args.points < 1:
        return f'--points must be >= 1, got {args.points}'
    if args.alpha < 0 or args.beta < 0:
        return '--alpha and --beta must be >= 0'
    return ''


def run_tracking(stores, out_dir: str, args, shard, progress: bool = True,
                 log_shard=None):
    """Track ``stores`` (``(rel, path)`` list) with batch_job.

    Args:
        stores (list[tuple[str, str]]): Stores to track (all shards).
        out_dir (str): Output folder.
        args (argparse.Namespace): Tracking options (``add_track_args``) plus
            ``overwrite``.
        shard (tuple[int, int]): ``(index, count)``.
        progress (bool): Show a progress bar.
        log_shard (tuple[int, int], optional): Shard named in the log file
            name (default ``shard``).

    Returns:
        tuple: ``(JobSummary, log_path, stop_counts)``, the last a dict stop
        name -> tracks of the videos tracked in this run.
    """
    items = [
        JobItem(rel, osp.join(out_dir, rel + '.npz'), path)
        for rel, path in stores
    ]

    stop_counts = {}

    def worker(item: JobItem, tmp: str) -> str:
        return track_store(item.payload, tmp, item.name, args, stop_counts)

    os.makedirs(out_dir, exist_ok=True)
    log = default_log_path(out_dir, 'track_points', log_shard or shard)
    summary = run_jobs(items, worker, shard=shard[0], num_shards=shard[1],
                       log_path=log, desc='track_points',
                       overwrite=args.overwrite, progress=progress)
    return summary, log, stop_counts


def main(argv=None) -> int:
    args = parse_args(argv)
    err = check_track_args(args)
    if err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    try:
        stores = list_stores(args.flow_dir)
        shard = resolve_shard(args.shard, args.num_shards)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if not stores:
        print(f'error: {args.flow_dir}: no flow stores (*.zip) found; run '
              'tools/data/extract_flow.py first', file=sys.stderr)
        return 2
    if args.threads:
        import cv2
        import torch
        cv2.setNumThreads(args.threads)
        torch.set_num_threads(args.threads)
    summary, log, stop_counts = run_tracking(stores, args.out_dir, args,
                                             shard, not args.no_progress)
    print(summary.format())
    if stop_counts:
        print(format_stop_counts(stop_counts))
    print(f'log: {log}')
    return summary.exit_code


if __name__ == '__main__':
    sys.exit(main())
