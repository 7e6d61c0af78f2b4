#!/usr/bin/env python
"""Convert track files to format 2 (a training sample then reads only what
it uses), in place or into another folder; resumable and shardable.

Examples::

    # in place: every TRACK_DIR/**/*.npz that is not format 2 yet
    python tools/data/convert_tracks.py data/k400/tracks_train

    # into another folder, 16 shards (or take the shard from torchrun, srun
    # or a Slurm array, as track_points.py does)
    python tools/data/convert_tracks.py tracks tracks_v2 --shard 3 --num-shards 16

    # also store the track lengths at a non-shipped (alpha, beta)
    python tools/data/convert_tracks.py data/k400/tracks_train --sweep 0.007,0.4

Format 2 (docs/tracking.md) keeps the per-track table of every shipped
(alpha, beta) and frame-major 16-bit fixed-point positions (within
0.5/coord_scale px of the float32 ones: 1/256 px at 256p, 1/128 px up to
1024 px). Old files keep working without conversion, but every sample then
reads and re-thresholds the whole file. In place, a file already in format 2
with the requested sweep is left as it is. Each file is written to a temp
name and renamed; an unreadable file is logged (``SKIP``), listed in
``convert_tracks.shard<i>of<n>.failed.txt`` and skipped; any other error
stops the job (exit status 3); exit status 1: more than ``--max-failed`` of
this shard's files were unreadable. Runs on the CPU (numpy only).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import (EXIT_USAGE, DataProblem,  # noqa: E402
                                     JobItem, LaunchError, add_shard_args,
                                     default_log_path, list_outputs,
                                     resolve_launch, run_and_report)


def _sweep_point(text: str):
    try:
        a, b = (float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--sweep takes ALPHA,BETA (e.g. 0.007,0.4), got {text!r}')
    if a < 0 or b < 0:
        raise argparse.ArgumentTypeError('--sweep values must be >= 0')
    return a, b


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Convert track files to format 2 (seekable: a sample '
        'reads its two frames\' points and a per-track table).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('track_dir', help='folder of track files (*.npz, searched '
                   'recursively) or a single file')
    p.add_argument('out_dir', nargs='?', default=None,
                   help='output folder (default: convert in place)')
    p.add_argument('--sweep', type=_sweep_point, nargs='+', default=(),
                   metavar='ALPHA,BETA', help='extra (alpha, beta) points to '
                   'store beside the shipped ones')
    p.add_argument('--overwrite', action='store_true',
                   help='out of place: redo files whose output exists')
    p.add_argument('--no-progress', action='store_true',
                   help='hide the progress bar')
    add_shard_args(p)
    return p.parse_args(argv)


def list_track_files(track_dir: str):
    """``(rel, path)`` of every track file under ``track_dir``."""
    if osp.isfile(track_dir):
        return [(osp.basename(track_dir), track_dir)]
    if not osp.isdir(track_dir):
        raise ValueError(f'{track_dir}: no such file or folder')
    # track files only: not temps, nor the lengths cached beside them
    return sorted(list_outputs(track_dir, '.npz', skip_hidden=True))


def is_current(path: str, sweep) -> bool:
    """Format 2 already, with every requested sweep point stored."""
    from pico_mm.tracking import TrackIndex, file_version
    if file_version(path) != 2:
        return False
    stored = TrackIndex(path).header['sweep']
    have = {tuple(p) for p in stored}
    a0, b0 = stored[0]
    return all(tuple(p) in have for p in sweep if p[0] <= a0 and p[1] <= b0)


def convert_file(path: str, tmp: str, sweep) -> str:
    """Write ``path`` as format 2 to ``tmp``; returns a log line.

    Raises:
        DataProblem: the file is unreadable (message names it and the fix).
    """
    from pico_mm.tracking import TrackFileError, load_tracks, save_tracks
    try:
        tracks = load_tracks(path)
    except TrackFileError as e:
        raise DataProblem(str(e)) from e
    save_tracks(tmp, tracks, atomic=False, version=2, sweep=sweep)
    before, after = osp.getsize(path), osp.getsize(tmp)
    return (f'{tracks.num_tracks} tracks, {before / 1e6:.2f} MB -> '
            f'{after / 1e6:.2f} MB')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        launch = resolve_launch(args.shard, args.num_shards)
        files = list_track_files(args.track_dir)
    except (LaunchError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_USAGE
    if not files:
        print(f'error: {args.track_dir}: no track files (*.npz) found; run '
              'tools/data/track_points.py first', file=sys.stderr)
        return EXIT_USAGE
    in_place = args.out_dir is None
    base = args.track_dir if osp.isdir(args.track_dir) else osp.dirname(
        osp.abspath(args.track_dir))
    out_dir = base if in_place else args.out_dir
    items = [JobItem(rel, path if in_place else osp.join(out_dir, rel), path)
             for rel, path in files]

    def worker(item: JobItem, tmp: str) -> str:
        if in_place and is_current(item.payload, args.sweep):
            os.link(item.payload, tmp)  # renamed onto itself: unchanged
            return 'already format 2 with the sweep: unchanged'
        return convert_file(item.payload, tmp, args.sweep)

    os.makedirs(out_dir, exist_ok=True)
    log = default_log_path(out_dir, 'convert_tracks', launch.shard)
    _, status = run_and_report(
        items, worker, log_path=log, desc='convert_tracks',
        overwrite=in_place or args.overwrite, progress=not args.no_progress,
        max_failed=args.max_failed, launch=launch,
        device='cpu (numpy; no GPU work)')
    print(f'log: {log}')
    return status


if __name__ == '__main__':
    sys.exit(main())
