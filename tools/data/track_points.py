#!/usr/bin/env python
"""Flow stores → point tracks (one ``.npz`` per video), resumable and shardable.

Examples::

    # all stores under data/k400/flow, 4096 seeds per video
    python tools/data/track_points.py data/k400/flow data/k400/tracks

    # looser consistency, motion-boundary stop, shard 3 of 16 (or take the
    # shard from torchrun, srun or a Slurm array, as extract_flow.py does)
    python tools/data/track_points.py data/k400/flow data/k400/tracks \\
        --alpha 0.04 --beta 2.0 --motion-boundary --shard 3 --num-shards 16

    # one node, one single-threaded CPU process per spare core (the
    # fastest way: docs/tracking.md, "Throughput model")
    torchrun --nproc-per-node 16 tools/data/track_points.py flow tracks

    # one node, 8 processes, each tracking on the GPU of its local rank
    torchrun --nproc-per-node 8 tools/data/track_points.py flow tracks \\
        --track-device auto

The default ``--alpha 0.02 --beta 1.0`` is the loosest point of the shipped
sweep (configs/pico/ablations): every config applies its own, stricter or
equal, ``alpha``/``beta`` at load time from the stored per-step terms, which
gives exactly the tracks a run at those values would give. A config asking for
a looser value than the file was tracked with is refused.

Every ``FLOW_DIR/<rel>.zip`` gives ``OUT_DIR/<rel>.npz`` (format in
docs/tracking.md); a log goes to ``OUT_DIR/track_points.shard<i>of<n>.log``.
Finished videos are skipped, outputs are written to a temp name and renamed,
unreadable stores are logged, listed in ``track_points.shard<i>of<n>.failed.txt``
and skipped; any other error stops the process (exit status 3). Exit status 1:
more than ``--max-failed`` of this shard's stores were unreadable. Tracking
runs on the CPU (``--track-device cpu``, the default) or on this process's GPU
(``--track-device auto``/``cuda``: ``cuda:{local_rank % GPUs}``; an error
where none is visible).
"""
import argparse
import os
import os.path as osp
import sys
import zlib
from typing import Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import (EXIT_USAGE, DataProblem,  # noqa: E402
                                     JobItem, Launch, LaunchError,
                                     add_shard_args, default_log_path,
                                     list_outputs, resolve_launch,
                                     run_and_report)

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
    p.add_argument('--prefetch', action='store_true',
                   help='decode flow pair t+1 in a second thread while t is '
                   'tracked; only for a lone process with an idle core (it '
                   'cost up to 44%% more CPU per clip, docs/tracking.md): on a '
                   'node, run one process per core instead')
    names = ('--track-device', '--device') if device_alias else (
        '--track-device', )
    p.add_argument(*names, dest='track_device', default='cpu',
                   help="tracking device: cpu, or auto/cuda (this process's "
                   'GPU: LOCAL_RANK/SLURM_LOCALID modulo the visible GPUs; '
                   'an error where none is visible), or cuda:I')


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
    return [(rel[:-len('.zip')], path)
            for rel, path in list_outputs(flow_dir, '.zip')]


def track_device(args, launch: Launch) -> str:
    """Resolve ``--track-device`` for this process (never falls back).

    Raises:
        NoGPUError: A GPU was asked for and none is visible.
        ValueError: An unknown device.
    """
    from pico_mm.utils.shard_env import resolve_device
    if args.track_device == 'cpu':
        return 'cpu'
    import torch
    return resolve_device(args.track_device, torch.cuda.device_count(),
                          launch.local_rank, 'tracking (--track-device '
                          f'{args.track_device})', '--track-device cpu')


def video_rng(seed: int, name: str):
    """Per-video generator: same seeds whatever the shard or the order."""
    import numpy as np
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def _store_reader(reader):
    """``reader.read`` that turns an unreadable pair into a DataProblem."""
    import zipfile

    def read(t):
        try:
            return reader.read(t)
        except (ValueError, IndexError, zipfile.BadZipFile) as e:
            raise DataProblem(str(e)) from e
    return read


def track_store(path: str, out_path: str, name: str, args,
                stop_counts: Optional[dict] = None,
                device: str = 'cpu') -> str:
    """Track one store and write its track file; returns a log line.

    ``stop_counts`` (stop name -> count), when given, is increased by this
    video's stop reasons (for the run summary). An unreadable, corrupt or
    too-short store raises :class:`DataProblem`.
    """
    import numpy as np

    from pico_mm.flow import FlowReader
    from pico_mm.tracking import STOP_NAMES, save_tracks, track_video
    try:
        opened = FlowReader(path)
    except (OSError, ValueError) as e:
        raise DataProblem(str(e)) from e
    with opened as reader:
        if reader.num_frames < 2:
            raise DataProblem(f'{path}: only {reader.num_frames} frame(s), '
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
        tracks = track_video(_store_reader(reader), reader.num_frames,
                             reader.frame_size, args.points,
                             video_rng(args.seed, name), args.alpha,
                             args.beta, args.motion_boundary, device, meta,
                             saturation_bound=reader.bound,
                             prefetch=args.prefetch)
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


def run_tracking(stores, out_dir: str, args, launch: Launch, device: str,
                 progress: bool = True, log_shard=None):
    """Track ``stores`` (``(rel, path)`` list) with batch_job; prints the
    summary.

    Args:
        stores (list[tuple[str, str]]): Stores to track (all shards).
        out_dir (str): Output folder.
        args (argparse.Namespace): Tracking options (``add_track_args``) plus
            ``overwrite`` and ``max_failed``.
        launch (Launch): This process's shard of ``stores``.
        device (str): Resolved tracking device (:func:`track_device`).
        progress (bool): Show a progress bar.
        log_shard (tuple[int, int], optional): Shard named in the log file
            name (default ``launch.shard``).

    Returns:
        tuple: ``(JobSummary, exit status, log_path, stop_counts)``, the last
        a dict stop name -> tracks of the videos tracked in this run.
    """
    items = [
        JobItem(rel, osp.join(out_dir, rel + '.npz'), path)
        for rel, path in stores
    ]

    stop_counts = {}

    def worker(item: JobItem, tmp: str) -> str:
        return track_store(item.payload, tmp, item.name, args, stop_counts,
                           device)

    os.makedirs(out_dir, exist_ok=True)
    log = default_log_path(out_dir, 'track_points', log_shard or launch.shard)
    how = 'on purpose, --track-device cpu' if device == 'cpu' else (
        f'--track-device {args.track_device}')
    summary, status = run_and_report(
        items, worker, log_path=log, desc='track_points',
        overwrite=args.overwrite, progress=progress,
        max_failed=args.max_failed, launch=launch,
        device=f'{device} ({how})')
    return summary, status, log, stop_counts


def main(argv=None) -> int:
    args = parse_args(argv)
    err = check_track_args(args)
    if err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    from pico_mm.utils.shard_env import NoGPUError
    try:
        launch = resolve_launch(args.shard, args.num_shards)
        device = track_device(args, launch)
        stores = list_stores(args.flow_dir)
    except (LaunchError, NoGPUError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_USAGE
    if not stores:
        print(f'error: {args.flow_dir}: no flow stores (*.zip) found; run '
              'tools/data/extract_flow.py first', file=sys.stderr)
        return EXIT_USAGE
    if args.threads:
        import cv2
        import torch
        cv2.setNumThreads(args.threads)
        torch.set_num_threads(args.threads)
    _, status, log, stop_counts = run_tracking(
        stores, args.out_dir, args, launch, device, not args.no_progress)
    if stop_counts:
        print(format_stop_counts(stop_counts))
    print(f'log: {log}')
    return status


if __name__ == '__main__':
    sys.exit(main())
