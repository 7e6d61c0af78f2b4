#!/usr/bin/env python
"""Benchmark: tracking from the flow store vs decoding the flow store.

Builds a 10 s / 30 Hz / 256p flow store (300 frames, 256×456, hand-held
camera motion with exact flow) in a temp folder, then times

1. pure decoding of every pair (``FlowReader.read``),
2. decoding + tracking (the tracker fed by the same reader), without and
   with the flow prefetch thread,
3. tracking alone on flows already in memory,

and prints the ratios (2)/(1) (goal <= 1.5) and points·steps per second.
Not a test; numbers depend on the machine.

Usage::

    python benchmarks/bench_tracking.py [--points 4096] [--device cpu]
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pico_mm.flow import FlowReader, FlowStoreWriter  # noqa: E402
from pico_mm.tracking import PointTracker, sample_seeds  # noqa: E402
from pico_mm.tracking.synthetic import (affine_video,  # noqa: E402
                                        motion_matrix, textured_image)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--points', type=int, nargs='+', default=[4096, 16384],
                   help='seeds per video (several values: one row each)')
    p.add_argument('--frames', type=int, default=300, help='10 s at 30 Hz')
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--width', type=int, default=456)
    p.add_argument('--device', default='cpu', help='cpu, cuda or auto')
    p.add_argument('--repeat', type=int, default=3, help='best of N runs')
    p.add_argument('--threads', type=int, default=None,
                   help='torch/OpenCV threads (default: library default)')
    return p.parse_args(argv)


def make_store(path, frames, h, w):
    """Write a synthetic hand-held-camera flow store; returns seconds."""
    rng = np.random.default_rng(0)
    centre = ((w - 1) / 2, (h - 1) / 2)
    steps = [
        motion_matrix(rng.uniform(-2, 2, 2), rng.uniform(-0.5, 0.5),
                      rng.uniform(0.99, 1.01), centre)
        for _ in range(frames - 1)
    ]
    t0 = time.perf_counter()
    # texture is irrelevant to the store; keep the image tiny
    _, fwd, bwd, _ = affine_video(textured_image(h, w), steps, frames)
    with FlowStoreWriter(path, bound=20, quality=95) as writer:
        for f, b in zip(fwd, bwd):
            writer.add_pair(f, b)
        writer.finish(fps=30, short_side=h, source='synthetic',
                      source_kind='video')
    return time.perf_counter() - t0


def timed(fn):
    """Run ``fn`` once; returns ``(wall s, process CPU s, result)``.

    Process CPU time is robust to other jobs on a shared machine; for a
    single-threaded run (prefetch off, 1 thread) it equals the wall time of
    an idle machine.
    """
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - w0, time.process_time() - c0, out


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import cv2
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    device = None if args.device == 'auto' else args.device
    h, w, n = args.height, args.width, args.frames
    with tempfile.TemporaryDirectory() as tmp:
        store = osp.join(tmp, 'bench.zip')
        gen = make_store(store, n, h, w)
        size = os.path.getsize(store) / 2**20
        print(f'store: {n} frames {h}x{w}, {size:.1f} MiB, built in '
              f'{gen:.1f} s; device {device or "auto"}, torch threads '
              f'{torch.get_num_threads()}')

        def decode():
            with FlowReader(store) as r:
                for t in range(r.num_pairs):
                    r.read(t)

        with FlowReader(store) as r:
            flows = [r.read(t) for t in range(r.num_pairs)]
        print('times in s, best of --repeat; wall = elapsed, cpu = process '
              'CPU time')
        print(f'{"points":>8} {"decode":>13} {"track+decode":>13} '
              f'{"ratio":>11} {"prefetch":>9} {"ratio":>6} '
              f'{"track-only":>11} {"pt-steps":>9} {"pt-steps/s":>10} '
              f'{"alive/frame":>11}')
        print(f'{"":>8} {"wall / cpu":>13} {"wall / cpu":>13} '
              f'{"wall / cpu":>11} {"wall":>9} {"wall":>6} {"cpu":>11}')
        for points in args.points:

            def run(prefetch, provider=None):
                with FlowReader(store) as r:
                    # the tool's settings: saturation test at the store bound
                    tracker = PointTracker(device=device, prefetch=prefetch,
                                           saturation_bound=r.bound)
                    start, xy = sample_seeds(points, n, (h, w),
                                             np.random.default_rng(0))
                    return tracker.track(provider or r.read, n, (h, w),
                                         start, xy)

            # interleave the measurements so load changes on a shared
            # machine hit them alike; keep the best of each
            inf = float('inf')
            dec, both, pre, mem = [inf, inf], [inf, inf], inf, inf
            for _ in range(args.repeat):
                wd, cd, _ = timed(decode)
                wb, cb, tracks = timed(lambda: run(False))
                wp, _, _ = timed(lambda: run(True))
                _, cm, _ = timed(lambda: run(False, lambda t: flows[t]))
                dec = [min(dec[0], wd), min(dec[1], cd)]
                both = [min(both[0], wb), min(both[1], cb)]
                pre, mem = min(pre, wp), min(mem, cm)
            steps = int((tracks.length - 1).sum())
            print(f'{points:>8} {dec[0]:>6.2f} {dec[1]:>6.2f} '
                  f'{both[0]:>6.2f} {both[1]:>6.2f} '
                  f'{both[0] / dec[0]:>5.2f} {both[1] / dec[1]:>5.2f} '
                  f'{pre:>9.2f} {pre / dec[0]:>6.2f} {mem:>11.2f} '
                  f'{steps:>9} {steps / mem:>10.3g} '
                  f'{tracks.length.sum() / n:>11.0f}')
        print('ratio = (decode + track) / decode, goal <= 1.5; prefetch (the '
              'default, used by tools/data/track_points.py): flow pair t+1 '
              'read in a thread while t is tracked; '
              'pt-steps/s = point steps per CPU second of tracking alone '
              '(flows in memory).')


if __name__ == '__main__':
    main()
