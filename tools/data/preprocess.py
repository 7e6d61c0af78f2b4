#!/usr/bin/env python
"""Videos → flow stores → point tracks in one command.

Runs ``tools/data/extract_flow.py INPUT <flow dir>`` and then
``tools/data/track_points.py`` on the stores of the same videos (same shard).
INPUT has extract_flow's meaning (folder of videos / rawframe folders, one
video, or an mmaction2 list file).

Examples::

    # CPU: DIS flow, 4096 tracks per video -> data/k400/flow, data/k400/tracks
    python tools/data/preprocess.py data/k400/videos_train data/k400 --backend dis

    # GPU cluster: RAFT and tracking on each process's GPU; the shard comes
    # from torchrun, srun or the Slurm array (docs/flow.md "Clusters")
    python tools/data/preprocess.py data/k400/train_list_videos.txt data/k400 \\
        --backend raft --raft-checkpoint raft_8x2_100k_mixed_368x768.pth \\
        --track-device auto

Every option not listed below goes to extract_flow.py unchanged (see
``python tools/data/extract_flow.py --help``): --backend, --raft-checkpoint,
--raft-iters, --device, --bf16, --bound, --quality, --fps, --short-side,
--frame-quality, --no-frames, --shots, ...

Exit status: 2 bad arguments or launch (checked before any work, the
tracking device too), 3 a fault in either step (the tracking step does not
run after a flow fault), 1 more than ``--max-failed`` of this shard's items
failed in either step, else 0.
"""
import argparse
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.abspath(osp.join(HERE, '..', '..')))
sys.path.insert(0, HERE)

import extract_flow  # noqa: E402
import track_points  # noqa: E402

from pico_mm.utils.batch_job import (EXIT_USAGE, JobItem,  # noqa: E402
                                     Launch, LaunchError, add_shard_args,
                                     resolve_launch, select_shard)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Extract flow (tools/data/extract_flow.py) and track '
        'points (tools/data/track_points.py) for a set of videos. Options '
        'not listed here are passed to extract_flow.py.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('input', help='folder of videos / rawframe folders, one '
                   'video, or an mmaction2 list file')
    p.add_argument('out_dir', help='output root: OUT_DIR/flow, OUT_DIR/tracks')
    p.add_argument('--flow-dir', default=None,
                   help='flow stores folder (default OUT_DIR/flow)')
    p.add_argument('--track-dir', default=None,
                   help='track files folder (default OUT_DIR/tracks)')
    p.add_argument('--data-root', default=None,
                   help='root for relative paths in a list file')
    p.add_argument('--skip-flow', action='store_true',
                   help='only run the tracking step')
    track_points.add_track_args(p, device_alias=False)
    p.add_argument('--overwrite', action='store_true',
                   help='redo finished videos (both steps)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch/OpenCV CPU threads')
    p.add_argument('--no-progress', action='store_true')
    add_shard_args(p)
    return p.parse_known_args(argv)


def shard_stores(args, flow_dir, shard):
    """Stores under ``flow_dir`` made from this shard's videos."""
    from pico_mm.flow.extract import list_inputs
    videos = list_inputs(args.input, args.data_root)
    items = [JobItem(rel, rel) for rel, _, _ in videos]
    mine = {it.name for it in select_shard(items, shard[0], shard[1])}
    stores = track_points.list_stores(flow_dir) if osp.isdir(flow_dir) else []
    return [(rel, path) for rel, path in stores
            if rel in mine or rel.rsplit('/', 1)[0] in mine]


def main(argv=None) -> int:
    args, rest = parse_args(argv)
    err = track_points.check_track_args(args)
    if err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    flow_dir = args.flow_dir or osp.join(args.out_dir, 'flow')
    track_dir = args.track_dir or osp.join(args.out_dir, 'tracks')
    from pico_mm.utils.shard_env import NoGPUError
    try:
        launch = resolve_launch(args.shard, args.num_shards)
        device = track_points.track_device(args, launch)
    except (LaunchError, NoGPUError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_USAGE
    shard = launch.shard
    common = ['--max-failed', str(args.max_failed)]
    if args.shard is not None:  # else extract_flow reads the same launch
        common += ['--shard', str(shard[0]), '--num-shards', str(shard[1])]
    if args.overwrite:
        common.append('--overwrite')
    if args.no_progress:
        common.append('--no-progress')
    if args.threads:
        common += ['--threads', str(args.threads)]
    if args.data_root:
        common += ['--data-root', args.data_root]
    if not args.skip_flow:
        print(f'[1/2] extract_flow {args.input} -> {flow_dir}')
        rc_flow = extract_flow.main([args.input, flow_dir, *rest, *common])
        if rc_flow not in (0, 1):  # bad arguments or a fault: stop here
            return rc_flow
    else:
        rc_flow = 0
    try:
        stores = shard_stores(args, flow_dir, shard)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'[2/2] track_points {flow_dir} -> {track_dir} '
          f'({len(stores)} stores of this shard)')
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    # the stores are already this shard's: track all of them here
    mine = Launch(0, 1, launch.local_rank, 'stores of the videos of shard '
                  f'{shard[0]} of {shard[1]}, {launch.source}')
    _, rc_track, log, stops = track_points.run_tracking(
        stores, track_dir, args, mine, device, not args.no_progress, shard)
    if stops:
        print(track_points.format_stop_counts(stops))
    print(f'log: {log}')
    return max(rc_flow, rc_track)


if __name__ == '__main__':
    sys.exit(main())
