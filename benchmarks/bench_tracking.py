#!/usr/bin/env python
"""Benchmark: tracking from the flow store vs decoding the flow store.

Builds several distinct K400-sized flow stores (10 s at 30 fps, short side
256: 300 frames of 256×456, exact flow of a synthetic camera motion) in a
temp folder: hand-held motion, and hand-held motion with fast zoom bursts
whose flow clips at the store bound near the frame corners (the saturation
test's dense path). For each clip and repeat it times, back to back,

1. decoding every pair (``FlowReader.read``),
2. decoding + tracking, sequential (``prefetch=False``, the tool's default),
3. decoding + tracking with the flow prefetch thread (``--prefetch``),

with the tool's settings (``tools/data/track_points.py``: alpha 0.02,
beta 1.0, saturation test at the store bound, 4096 seeds). It prints the
ratios (2)/(1) and (3)/(1) of each repeat (goal <= 1.5), their best and
median, and the process CPU ms per clip of decoding, of tracking
((2) - (1)) and of the prefetch pass (3), whose two threads cost more CPU
than one. Before every timed pass the store is dropped from the OS page
cache (fsync + POSIX_FADV_DONTNEED), so each pass reads it from disk as a
K400 job would; the clips rotate, so CPU caches do not hold the previous
pass's flow. Not a test; numbers depend on the machine and its load.

Usage::

    python benchmarks/bench_tracking.py [--points 4096] [--clips 4]
        [--repeat 5] [--device cpu] [--threads N]
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pico_mm.flow import FlowReader, FlowStoreWriter  # noqa: E402
from pico_mm.tracking import (STOP_SATURATED, PointTracker,  # noqa: E402
                              sample_seeds)
from pico_mm.tracking.synthetic import (affine_video,  # noqa: E402
                                        motion_matrix, textured_image)

#: tools/data/track_points.py's extraction settings
TOOL_ALPHA, TOOL_BETA = 0.02, 1.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--points', type=int, nargs='+', default=[4096],
                   help='seeds per video (several values: one block each)')
    p.add_argument('--clips', type=int, default=4,
                   help='distinct stores; every second one has fast zoom '
                   'bursts that clip')
    p.add_argument('--frames', type=int, default=300, help='10 s at 30 Hz')
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--width', type=int, default=456)
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:I')
    p.add_argument('--repeat', type=int, default=5,
                   help='timed passes per clip (best and median reported)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch/OpenCV threads (default: library default, '
                   'as the tool)')
    return p.parse_args(argv)


def clip_motion(seed, frames, h, w):
    """T-1 step matrices: hand-held motion, plus (odd seeds) three zoom
    bursts (6 frames of 1.1×/frame) whose flow passes 20 px near the
    corners."""
    rng = np.random.default_rng(seed)
    centre = ((w - 1) / 2, (h - 1) / 2)
    burst = seed % 2 == 1
    steps = []
    for t in range(frames - 1):
        zoom = 1.10 if burst and t % 100 in range(40, 46) else \
            rng.uniform(0.99, 1.01)
        steps.append(motion_matrix(rng.uniform(-2, 2, 2),
                                   rng.uniform(-0.5, 0.5), zoom, centre))
    return steps


def make_store(path, frames, h, w, seed=0):
    """Write one synthetic flow store; returns the seconds it took."""
    t0 = time.perf_counter()
    _, fwd, bwd, _ = affine_video(textured_image(h, w, seed),
                                  clip_motion(seed, frames, h, w), frames)
    with FlowStoreWriter(path, bound=20, quality=95) as writer:
        for f, b in zip(fwd, bwd):
            writer.add_pair(f, b)
        writer.finish(fps=30, short_side=h, source='synthetic',
                      source_kind='video')
    return time.perf_counter() - t0


def drop_page_cache(path):
    """Evict ``path`` from the OS page cache (the next read hits the disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(fn, path):
    """``(wall s, process CPU s, result)`` of ``fn()``, store cache dropped."""
    drop_page_cache(path)
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - w0, time.process_time() - c0, out


def decode(path):
    with FlowReader(path) as r:
        for t in range(r.num_pairs):
            r.read(t)


def track(path, points, device, prefetch):
    with FlowReader(path) as r:
        n, size = r.num_frames, r.frame_size
        tracker = PointTracker(TOOL_ALPHA, TOOL_BETA, device=device,
                               prefetch=prefetch, saturation_bound=r.bound)
        start, xy = sample_seeds(points, n, size, np.random.default_rng(0))
        return tracker.track(r.read, n, size, start, xy)


def best_med(values):
    return f'{min(values):5.2f} {statistics.median(values):5.2f}'


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import cv2
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    h, w, n = args.height, args.width, args.frames
    with tempfile.TemporaryDirectory() as tmp:
        stores = []
        for c in range(args.clips):
            path = osp.join(tmp, f'clip{c}.zip')
            gen = make_store(path, n, h, w, seed=c)
            stores.append(path)
            print(f'clip {c}: {n} frames {h}x{w}, '
                  f'{os.path.getsize(path) / 2**20:.1f} MiB, '
                  f'{"zoom bursts (clips)" if c % 2 else "hand-held"}, '
                  f'built in {gen:.1f} s')
        print(f'device {args.device}; torch threads '
              f'{torch.get_num_threads()} (the tracker uses 1 on the CPU); '
              f'load {os.getloadavg()[0]:.2f}; page cache dropped before '
              'every pass')
        for points in args.points:
            rows = {c: dict(dec=[], seq=[], pre=[], cdec=[], ctrk=[], cpre=[])
                    for c in range(args.clips)}
            for _ in range(args.repeat):
                for c, path in enumerate(stores):
                    wd, cd, _ = timed(lambda: decode(path), path)
                    ws, cs, tracks = timed(
                        lambda: track(path, points, args.device, False), path)
                    wp, cp, _ = timed(
                        lambda: track(path, points, args.device, True), path)
                    row = rows[c]
                    row['dec'].append(wd)
                    row['seq'].append(ws / wd)
                    row['pre'].append(wp / wd)
                    row['cdec'].append(cd * 1e3)
                    row['ctrk'].append((cs - cd) * 1e3)
                    row['cpre'].append(cp * 1e3)
                    row['tracks'] = tracks
            print(f'\n{points} seeds, {args.repeat} passes per clip; '
                  'best and median of each column')
            print(f'{"clip":>4} {"decode s":>11} {"seq ratio":>11} '
                  f'{"pref ratio":>11} {"decode CPU ms":>13} '
                  f'{"track CPU ms":>13} {"pref CPU ms":>13} '
                  f'{"alive/frame":>11} '
                  f'{"saturated":>9}')
            for c, row in rows.items():
                tr = row['tracks']
                sat = float(np.mean(tr.stop == STOP_SATURATED))
                print(f'{c:>4} {best_med(row["dec"])} {best_med(row["seq"])} '
                      f'{best_med(row["pre"])} '
                      f'{min(row["cdec"]):6.0f} '
                      f'{statistics.median(row["cdec"]):6.0f} '
                      f'{min(row["ctrk"]):6.0f} '
                      f'{statistics.median(row["ctrk"]):6.0f} '
                      f'{min(row["cpre"]):6.0f} '
                      f'{statistics.median(row["cpre"]):6.0f} '
                      f'{tr.length.sum() / n:>11.0f} {sat:>9.1%}')
            every = {k: [v for row in rows.values() for v in row[k]]
                     for k in ('seq', 'pre', 'cdec', 'ctrk', 'cpre')}
            print(f' all {"":>11} {best_med(every["seq"])} '
                  f'{best_med(every["pre"])} '
                  f'{min(every["cdec"]):6.0f} '
                  f'{statistics.median(every["cdec"]):6.0f} '
                  f'{min(every["ctrk"]):6.0f} '
                  f'{statistics.median(every["ctrk"]):6.0f} '
                  f'{min(every["cpre"]):6.0f} '
                  f'{statistics.median(every["cpre"]):6.0f}')
        print('\nratio = (decode + track) / decode of the same pass, goal '
              '<= 1.5; seq: prefetch=False (the tool default); pref: '
              'prefetch=True (--prefetch: pair t+1 decoded in a thread while '
              't is tracked); track CPU = process CPU of (decode + track, '
              'sequential) minus decode; pref CPU = process CPU of the '
              'prefetch pass (decode + track, both threads).')


if __name__ == '__main__':
    main()
