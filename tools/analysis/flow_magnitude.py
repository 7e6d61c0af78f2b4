#!/usr/bin/env python
"""Flow magnitude distribution of videos: how much a store bound B clips.

Examples::

    python tools/analysis/flow_magnitude.py data/clips/*.mp4 --short-side 256
    python tools/analysis/flow_magnitude.py video.mp4 --backend raft \\
        --checkpoint checkpoints/raft_mixed.pth --stride 10

For each video, frames are decoded at ``--fps`` / ``--short-side`` exactly as
``tools/data/extract_flow.py`` does, flow is computed for every ``--stride``-th
consecutive pair in both directions, and the table gives percentiles of the
per-pixel largest component ``max(|u|, |v|)`` (what the store clips at ±B)
and the fraction of flow components beyond each bound.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402

BOUNDS = (10.0, 20.0, 32.0, 40.0)
PCTS = (50, 90, 99, 99.9)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('videos', nargs='+', help='video files or rawframe dirs')
    p.add_argument('--fps', type=float, default=30)
    p.add_argument('--short-side', type=int, default=256)
    p.add_argument('--backend', default='dis', choices=('dis', 'raft'))
    p.add_argument('--checkpoint', default=None,
                   help='RAFT checkpoint (MMFlow or torchvision format)')
    p.add_argument('--stride', type=int, default=1,
                   help='use every N-th consecutive frame pair')
    p.add_argument('--json', default=None, help='also write the numbers here')
    return p.parse_args(argv)


def clip_stats(flows: np.ndarray) -> dict:
    """Percentiles and clipped fractions of flow fields.

    Args:
        flows (np.ndarray): N×H×W×2 float32 flow (x, y).

    Returns:
        dict: ``pct`` (percentile -> px of ``max(|u|, |v|)``) and ``clipped``
        (bound -> fraction of components with ``|v| > B``).
    """
    mag = np.abs(flows)
    largest = mag.max(axis=-1)
    return dict(
        pct={str(q): float(np.percentile(largest, q)) for q in PCTS},
        clipped={str(b): float(np.mean(mag > b)) for b in BOUNDS})


def main(argv=None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from pico_mm.flow import VideoReadError, load_frames
    from pico_mm.flow.backends import build_backend
    kw = {} if args.backend == 'dis' else dict(checkpoint=args.checkpoint)
    try:
        backend = build_backend(args.backend, **kw)
    except (ValueError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    results = {}
    for video in tqdm(args.videos, desc='flow_magnitude', unit='video'):
        try:
            frames = np.stack(load_frames(video, None, fps=args.fps,
                                          short_side=args.short_side))
        except VideoReadError as e:
            print(f'error: {e} (skipped)', file=sys.stderr)
            continue
        idx = np.arange(0, len(frames) - 1, args.stride)
        fwd, bwd = backend(frames[idx], frames[idx + 1])
        stats = clip_stats(np.concatenate([fwd, bwd]))
        stats.update(frames=int(len(frames)), pairs=int(len(idx)),
                     size=list(frames.shape[1:3]))
        results[video] = stats
    if not results:
        print('error: no readable video among the inputs', file=sys.stderr)
        return 2
    head = ('video', 'HxW', 'pairs') + tuple(f'p{q}' for q in PCTS) + tuple(
        f'>{b:g}px' for b in BOUNDS)
    print(' | '.join(head))
    for video, s in results.items():
        row = [osp.basename(video), '{}x{}'.format(*s['size']),
               str(s['pairs'])]
        row += [f'{s["pct"][str(q)]:.2f}' for q in PCTS]
        row += [f'{s["clipped"][str(b)]:.4%}' for b in BOUNDS]
        print(' | '.join(row))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(results, indent=1).encode())
    return 0


if __name__ == '__main__':
    sys.exit(main())
