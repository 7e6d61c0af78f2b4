#!/usr/bin/env python
"""How should training read two frames of a 10 s clip? Bytes vs read time.

One generated clip: 10 s at 30 fps, 256x340 (the size of a ``--short-side
256`` Kinetics clip), a slow pan + zoom over a photograph (matplotlib's
``grace_hopper.jpg``, 512x600) with fresh Gaussian noise (sigma 2) in every
frame, like sensor noise (``--noise``). It is encoded as the *source video* with PyAV's
libx264 (x264 defaults: preset medium, CRF 23, GOP 250) and then kept in
each candidate form:

* ``source H.264 (fallback)``: ``pico_mm.flow.load_frames`` on the source
  (OpenCV decodes sequentially from frame 0 to the highest index);
* ``JPEG qQ in the flow store``: ``tools/data/extract_flow.py``'s frame
  store (``extract_video(..., frame_quality=Q)`` on the source, with a
  zero-flow backend so the store has its ~1200 flow members too), read with
  ``pico_mm.flow.read_store_frames``;
* ``PNG in the flow store``: the same frames lossless (PNG level 1);
* ``H.264 GOP G re-encode``: the decoded source re-encoded with libx264
  (CRF 18, keyframe every G frames), read with PyAV: seek to the keyframe
  before the frame, decode forward.

For each: median and p90 ms to read 2 random frames (1 thread), bytes per
clip, bytes for K400 (x 240k clips of ``--seconds``; K400 clips are ~10 s),
and PSNR of the frames against the source's decoded frames (what the
fallback gives). For scale it also extracts the clip's DIS flow store without
frames (``--no-flow`` skips).

    python benchmarks/bench_frame_formats.py [--pairs 200] [--seconds 10]

Needs ``av`` (PyAV, ``pip install av``; its wheel ships libx264).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

K400_CLIPS = 240_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seconds', type=float, default=10.0)
    p.add_argument('--fps', type=int, default=30)
    p.add_argument('--pairs', type=int, default=200, help='timed 2-frame reads')
    p.add_argument('--gops', type=int, nargs='+', default=[1, 8, 30])
    p.add_argument('--qualities', type=int, nargs='+', default=[90, 95])
    p.add_argument('--no-flow', action='store_true',
                   help='skip the DIS flow store size row (the slow part)')
    p.add_argument('--video', default=None,
                   help='use this real clip as the source instead of the '
                   'generated one (K400 column then scaled to 10 s at 256x340)')
    p.add_argument('--noise', type=float, default=2.0,
                   help='sigma of the per-frame Gaussian noise (0: none)')
    return p.parse_args(argv)


def photo_clip(n, h=256, w=340, noise=2.0, seed=0):
    """Pan + zoom over a photograph, fresh noise per frame (uint8 BGR)."""
    import matplotlib
    img = cv2.imread(osp.join(matplotlib.get_data_path(), 'sample_data',
                              'grace_hopper.jpg'))
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(n):
        s = 1.0 + 0.4 * t / n                      # zoom in 1.0 -> 1.4
        cx = img.shape[1] / 2 + 60 * np.sin(t / n * 2 * np.pi)
        cy = img.shape[0] / 2 + 30 * (t / n - 0.5)
        scale = s * h / img.shape[0] * 1.1
        m = np.float32([[scale, 0, w / 2 - scale * cx],
                        [0, scale, h / 2 - scale * cy]])
        f = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        if noise:
            f += rng.normal(0, noise, f.shape)
        frames.append(np.clip(f + 0.5, 0, 255).astype(np.uint8))
    return frames


def encode_h264(path, frames, fps, gop=None, crf=None):
    """libx264 .mp4 with PyAV (x264 defaults unless gop/crf given)."""
    import av
    h, w = frames[0].shape[:2]
    with av.open(path, 'w') as out:
        st = out.add_stream('libx264', rate=fps)
        st.width, st.height, st.pix_fmt = w, h, 'yuv420p'
        st.codec_context.gop_size = 250 if gop is None else gop
        opts = {}
        if crf is not None:
            opts['crf'] = str(crf)
        if gop is not None:
            opts['keyint_min'] = str(gop)
            opts['sc_threshold'] = '0'
        st.options = opts
        for f in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(f, format='bgr24')):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


class ZeroFlow:
    """Flow backend stub: these benchmarks time frame reading, not flow."""

    def __call__(self, f1, f2):
        z = np.zeros(f1.shape[:3] + (2, ), np.float32)
        return z, z

    def describe(self):
        return dict(backend='zero')


class SeekReader:
    """Frame ``t`` of a short-GOP .mp4 via PyAV seek + forward decode."""

    def __init__(self, path):
        self.path = path

    def read(self, inds):
        import av
        out = []
        with av.open(self.path) as c:
            st = c.streams.video[0]
            st.thread_count = 1
            tick = 1 / (st.average_rate * st.time_base)  # pts per frame
            for t in inds:
                target = int(round(t * tick))
                c.seek(target, stream=st, backward=True, any_frame=False)
                for fr in c.decode(st):
                    if fr.pts >= target:
                        out.append(fr.to_ndarray(format='bgr24'))
                        break
        return out


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def timed(fn, pairs, n, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        fn(rng.integers(n, size=2))
    ts = []
    for _ in range(pairs):
        idx = rng.integers(n, size=2)
        t0 = time.perf_counter()
        fn(idx)
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts)), 1000 * float(np.percentile(ts, 90))


def main(argv=None):
    args = parse_args(argv)
    cv2.setNumThreads(1)
    from pico_mm.flow import load_frames, read_store_frames
    from pico_mm.flow.extract import extract_video
    from pico_mm.flow.frame_store import StoreIndex, decode_frame
    n = int(round(args.seconds * args.fps))
    rows = []
    with tempfile.TemporaryDirectory(prefix='pico_frame_formats_') as d:
        if args.video:  # (the H.264 re-encodes need an even frame size)
            src = args.video
            ref = load_frames(src, fps=args.fps, short_side=256)
            n = len(ref)
        else:
            raw = photo_clip(n, noise=args.noise)
            src = osp.join(d, 'source.mp4')
            encode_h264(src, raw, args.fps)
            ref = load_frames(src, fps=args.fps, short_side=256)  # fallback frames
            assert len(ref) == n, (len(ref), n)
        h, w = ref[0].shape[:2]
        # K400 column: per clip of 10 s at 256x340 (a real clip may differ)
        norm = K400_CLIPS * (10 * args.fps / n) * (256 * 340) / (h * w)

        def fallback(idx):
            load_frames(src, idx, fps=args.fps, short_side=256)
        rows.append(('source H.264 GOP 250 (fallback)', os.path.getsize(src),
                     timed(fallback, args.pairs, n),
                     float('nan') if args.video else psnr(np.stack(ref), np.stack(raw))))

        for q in args.qualities:
            store = osp.join(d, f'store_q{q}.zip')
            meta = extract_video(src, store, ZeroFlow(), 'video', fps=args.fps,
                                 short_side=256, frame_quality=q)
            got = read_store_frames(store, range(n))
            rows.append((f'JPEG q{q} in the flow store', meta['frames']['bytes'],
                         timed(lambda i, s=store: read_store_frames(s, i),
                               args.pairs, n),
                         psnr(np.stack(got), np.stack(ref))))
            if q == args.qualities[0]:  # the same store through zipfile

                def via_zipfile(idx, s=store):
                    with zipfile.ZipFile(s) as z:
                        [decode_frame(z.read(f'frame_{t:05d}.jpg')) for t in idx]
                rows.append(('  same, read with zipfile.ZipFile',
                             meta['frames']['bytes'],
                             timed(via_zipfile, args.pairs, n), rows[-1][3]))
        flow_bytes = 0
        if not args.no_flow:
            from pico_mm.flow.backends import DISBackend
            fs = osp.join(d, 'flow_only.zip')
            extract_video(src, fs, DISBackend('medium'), 'video', fps=args.fps,
                          short_side=256)
            flow_bytes = os.path.getsize(fs)
        png = osp.join(d, 'png.zip')
        nbytes = 0
        with zipfile.ZipFile(png, 'w', zipfile.ZIP_STORED) as z:
            for t, f in enumerate(ref):
                data = cv2.imencode('.png', f, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1]
                z.writestr(f'frame_{t:05d}.png', data.tobytes())
                nbytes += len(data)

        def read_png(idx):
            ix = StoreIndex(png)
            [decode_frame(ix.read(f'frame_{t:05d}.png')) for t in idx]
            ix.close()
        rows.append(('PNG (lossless) in a zip', nbytes,
                     timed(read_png, args.pairs, n), 99.0))
        for g in args.gops:
            p = osp.join(d, f'gop{g}.mp4')
            encode_h264(p, ref, args.fps, gop=g, crf=18)
            r = SeekReader(p)
            got = r.read([5, n - 1])
            q = min(psnr(got[0], ref[5]), psnr(got[1], ref[n - 1]))
            rows.append((f'H.264 CRF 18 GOP {g} re-encode (PyAV seek)',
                         os.path.getsize(p), timed(r.read, args.pairs, n), q))
    what = (args.video if args.video else
            f'generated, noise sigma {args.noise:g}')
    print(f'\n{n} frames {h}x{w} at {args.fps} fps ({what}), {args.pairs} '
          'random 2-frame reads, 1 thread')
    print(f'{"form":44s} {"ms/2 fr":>8s} {"p90":>6s} {"MB/clip":>8s} '
          f'{"K400 TB":>8s} {"PSNR dB":>8s}')
    for name, size, (med, p90), q in rows:
        print(f'{name:44s} {med:8.2f} {p90:6.2f} {size / 1e6:8.2f} '
              f'{size * norm / 1e12:8.2f} {q:8.1f}')
    print('(PSNR: against the source video decoded by OpenCV; fallback row: '
          'source against the uncompressed rendered frames)')
    if flow_bytes:
        print(f'(for scale: the flow store itself, DIS medium, no frames: '
              f'{flow_bytes / 1e6:.2f} MB/clip, {flow_bytes * norm / 1e12:.2f} '
              'TB for K400)')


if __name__ == '__main__':
    main()
