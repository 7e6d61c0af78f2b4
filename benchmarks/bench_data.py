#!/usr/bin/env python
"""PiCo data sample time vs an mmselfsup MoCo-v2 two-view sample.

Both read the same generated rawframe videos (JPEG frames at 256x320, the
size of a ``--short-side 256`` Kinetics clip) and build two 224x224 views with
the same MoCo-v2 augmentations:

* MoCo-v2: ``LoadImageFromFile`` (one random frame) -> mmselfsup ``MultiView``
  (2 views of the mocov2 pipeline) -> ``PackSelfSupInputs``;
* PiCo: ``VideoCorrespondenceDataset`` (track file, top-K anchor sampling,
  two frames via ``pico_mm.flow.load_frames``) -> ``CorrespondenceViews`` ->
  ``PackPiCoInputs``; measured with the frame cache off (every frame decoded
  by ``load_frames``) and with every frame already cached.

A second comparison leaves decoding out of both (MoCo-v2 on a decoded frame,
PiCo with all frames cached): the cost of tracks + sampling + point-keeping
views + packing against MultiView + PackSelfSupInputs.

Video-source cases (what a Kinetics run reads): ``--clips`` generated 10 s,
30 fps, 256x340 clips encoded with PyAV's libx264 (x264 defaults: CRF 23,
GOP 250), tracked, and read by PiCo

* from the H.264 file (``frame_store=False``: the fallback, OpenCV decodes
  from frame 0 up to the frame asked for), and
* from the frames ``tools/data/extract_flow.py`` keeps in the flow store
  (``extract_video(..., frame_quality=90)``; a zero-flow backend stands in
  for the flow, which training does not read).

    python benchmarks/bench_data.py [--videos 8] [--samples 200] [--frames 60] [--clips 4]

Cache-miss case (``--k400-clips``, default 64; 0 skips it): distinct
K400-sized clips (10 s, 30 fps, 256x340) made by ``benchmarks/k400_corpus.py``
with the project's own tools (DIS flow, frames kept in the store, 4096 seeds,
alpha 0.02, beta 1.0) and cached under ``--k400-dir`` (first run: about an
hour on a shared 2-core machine; later runs reuse it). Samples visit the
clips in random permutations through the K400 dataset config, so nearly
every sample opens a clip it has not seen: the dataset's per-worker caches
keep the config's sizes (hits are printed), and before each timed sample the
files it will read (track file, flow store; MoCo-v2's JPEG) are dropped from
the OS page cache (``posix_fadvise(DONTNEED)``; storage bytes read are
printed to show it worked). PiCo reads format-2 track files (what
``track_points.py`` writes) and, as the old path, the same tracks in
format 1. Prints ms/sample (median, p90), the ratio to MoCo-v2 and the
bytes read per sample (read syscalls; from storage).

Prints median ms/sample (pipelines interleaved) and the ratio PiCo / MoCo-v2
(goal <= 1.5x; the fallback is reported as it is), and the bytes per clip of
the source and of the kept frames. Single process, one OpenCV thread, CPU.
Needs ``av`` (PyAV) for the video-source cases (``--clips 0`` skips them).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

MOCOV2_VIEW = [
    dict(type='RandomResizedCrop', size=224, scale=(0.2, 1.), backend='pillow'),
    dict(type='RandomApply', transforms=[dict(
        type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
        hue=0.1)], prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--videos', type=int, default=8, help='generated videos')
    p.add_argument('--frames', type=int, default=60, help='frames per video')
    p.add_argument('--samples', type=int, default=200, help='timed samples each')
    p.add_argument('--points', type=int, default=2000, help='tracks per video')
    p.add_argument('--clips', type=int, default=4,
                   help='generated H.264 clips for the video-source cases')
    p.add_argument('--clip-seconds', type=float, default=10.0)
    p.add_argument('--workdir', default=None, help='where to write the videos '
                   '(default: a temp dir, removed at the end)')
    p.add_argument('--k400-clips', type=int, default=64,
                   help='distinct 10 s clips of the cache-miss case (0: skip)')
    p.add_argument('--k400-samples', type=int, default=192,
                   help='timed samples of each pipeline in the cache-miss case')
    p.add_argument('--k400-dir', default='work_dirs/bench_data_k400',
                   help='cache of the generated K400-sized corpus')
    p.add_argument('--only-k400', action='store_true',
                   help='run the cache-miss case only')
    return p.parse_args(argv)


def make_data(root, n_videos, n_frames, n_points):
    """Rawframe videos (translating texture), GT-flow tracks and lists."""
    from tqdm import tqdm
    from pico_mm.tracking import save_tracks, track_video
    from pico_mm.tracking.synthetic import (affine_video, motion_matrix,
                                            textured_image)
    h, w = 256, 320
    lines, frame_files = [], []
    for i in tqdm(range(n_videos), desc='generating videos'):
        img = textured_image(h, w, seed=i)
        step = motion_matrix(shift=(1.0 + 0.3 * i, 0.5), angle_deg=0.2,
                             centre=(w / 2, h / 2))
        frames, fwd, bwd, _ = affine_video(img, step, n_frames)
        rel = f'v{i:03d}'
        d = osp.join(root, 'videos', rel)
        os.makedirs(d, exist_ok=True)
        for t, f in enumerate(frames, 1):
            path = osp.join(d, f'img_{t:05d}.jpg')
            cv2.imwrite(path, f, [cv2.IMWRITE_JPEG_QUALITY, 90])
            frame_files.append(path)
        tracks = track_video(lambda t: (fwd[t], bwd[t]), n_frames, (h, w),
                             n_points, np.random.default_rng(i),
                             meta=dict(source=d, fps=30, short_side=h,
                                       alpha=0.01, beta=0.5))
        save_tracks(osp.join(root, 'tracks', rel + '.npz'), tracks)
        lines.append(f'{rel} {n_frames} 0')
    with open(osp.join(root, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return frame_files


def make_video_data(root, n_clips, seconds, n_points):
    """H.264 clips (x264 defaults), flow stores keeping frames, tracks, list.

    Returns:
        tuple: ``(source bytes, kept-frame bytes)`` summed over the clips.
    """
    from tqdm import tqdm
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from bench_frame_formats import ZeroFlow, encode_h264
    from pico_mm.flow.extract import extract_video
    from pico_mm.tracking import save_tracks, track_video
    from pico_mm.tracking.synthetic import (affine_video, motion_matrix,
                                            textured_image)
    h, w, fps = 256, 340, 30
    n = int(round(seconds * fps))
    lines, src_bytes, frame_bytes = [], 0, 0
    for i in tqdm(range(n_clips), desc='generating H.264 clips'):
        img = textured_image(h, w, seed=100 + i)
        step = motion_matrix(shift=(0.5 + 0.2 * i, 0.3), angle_deg=0.05,
                             centre=(w / 2, h / 2))
        frames, fwd, bwd, _ = affine_video(img, step, n)
        rel = f'c{i:03d}'
        src = osp.join(root, 'h264', rel + '.mp4')
        os.makedirs(osp.dirname(src), exist_ok=True)
        encode_h264(src, frames, fps)
        store = osp.join(root, 'h264_flow', rel + '.zip')
        os.makedirs(osp.dirname(store), exist_ok=True)
        meta = extract_video(src, store, ZeroFlow(), 'video', fps=fps,
                             short_side=h, frame_quality=90)
        assert meta['num_frames'] == n, (meta['num_frames'], n)
        src_bytes += os.path.getsize(src)
        frame_bytes += meta['frames']['bytes']
        tracks = track_video(lambda t: (fwd[t], bwd[t]), n, (h, w), n_points,
                             np.random.default_rng(i),
                             meta=dict(source=src, fps=fps, short_side=h,
                                       flow_path=store, flow_rel=rel,
                                       alpha=0.01, beta=0.5))
        save_tracks(osp.join(root, 'h264_tracks', rel + '.npz'), tracks)
        lines.append(f'{rel}.mp4 0')
    with open(osp.join(root, 'list_h264.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return src_bytes, frame_bytes


def time_interleaved(fns, n):
    """Median ms per call of each function, calls interleaved round-robin so
    that load changes on a shared machine hit all of them alike."""
    from tqdm import tqdm
    for fn in fns.values():  # warm-up
        for _ in range(3):
            fn()
    times = {k: [] for k in fns}
    for _ in tqdm(range(n), desc='timing (interleaved)'):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) * 1000 for k, v in times.items()}


def main(argv=None):
    args = parse_args(argv)
    cv2.setNumThreads(1)
    import torch
    torch.set_num_threads(1)
    import pico_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import DATASETS, TRANSFORMS
    init_default_scope('mmselfsup')
    if args.k400_clips:
        from k400_corpus import cache_miss_case
        cache_miss_case(args, MOCOV2_VIEW)
        if args.only_k400:
            return
    tmp = None
    root = args.workdir
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix='pico_bench_data_')
        root = tmp.name
    files = make_data(root, args.videos, args.frames, args.points)
    if args.clips:
        sizes = make_video_data(root, args.clips, args.clip_seconds, args.points)

    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', 'configs',
                                   'pico', '_base_', 'datasets',
                                   'k400_pico.py'))
    moco = [TRANSFORMS.build(t) for t in [
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=2, transforms=[MOCOV2_VIEW]),
        dict(type='PackSelfSupInputs', meta_keys=['img_path'])]]
    rng = np.random.default_rng(0)

    decoded = {}

    def moco_sample(decode=True):
        path = files[rng.integers(len(files))]
        if decode:
            r = moco[0](dict(img_path=path))
        else:
            if path not in decoded:
                decoded[path] = moco[0](dict(img_path=path))
            r = dict(decoded[path])
        for t in moco[1:]:
            r = t(r)
        assert len(r['inputs']) == 2

    for f in files:  # decode everything once for the decode-free timings
        moco_sample(False)
    fns = {'mocov2': moco_sample, 'mocov2 (decoded)': lambda: moco_sample(False)}
    n_frames = args.videos * args.frames
    pairs = []
    for name, cache in (('pico', 0), ('pico (frames cached)', n_frames)):
        ds = DATASETS.build(dict(
            cfg.train_dataloader.dataset, data_root=root, ann_file='list.txt',
            data_prefix=dict(video='videos', tracks='tracks'),
            frame_cache_size=cache))
        if cache:
            for i in range(len(ds)):
                info = ds.get_data_info(i)
                ds._frames_at(info, list(range(args.frames)),
                              ds._decode_args(ds._load_tracks(info)))
        idx = iter(rng.integers(len(ds), size=10**6))

        def pico_sample(ds=ds, idx=idx):
            pairs.append(int(ds[int(next(idx))]['data_samples'].num_pairs))

        fns[name] = pico_sample
    video_cases = (('pico, H.264 video (fallback)', False),
                   ('pico, frame store', True)) if args.clips else ()
    for name, store in video_cases:
        ds = DATASETS.build(dict(
            cfg.train_dataloader.dataset, data_root=root,
            ann_file='list_h264.txt', frame_cache_size=0, frame_store=store,
            data_prefix=dict(video='h264', tracks='h264_tracks',
                             flow='h264_flow')))
        idx = iter(rng.integers(len(ds), size=10**6))

        def video_sample(ds=ds, idx=idx):
            pairs.append(int(ds[int(next(idx))]['data_samples'].num_pairs))

        fns[name] = video_sample
    np.random.seed(0)
    res = time_interleaved(fns, args.samples)
    res['pairs'] = float(np.median(pairs))
    print(f'\nframes 256x320 JPEG, views 224x224, {args.videos} videos x '
          f'{args.frames} frames, {args.samples} samples each, 1 thread')
    if args.clips:
        print(f'video cases: {args.clips} H.264 clips of {args.clip_seconds:g} s, '
              '30 fps, 256x340 (x264 defaults, GOP 250)')
    print(f'{"pipeline":30s} {"ms/sample":>10s} {"ratio":>7s}')
    rows = (('mocov2', 'mocov2'), ('pico', 'mocov2'),
            ('mocov2 (decoded)', 'mocov2 (decoded)'),
            ('pico (frames cached)', 'mocov2 (decoded)'))
    rows += tuple((name, 'mocov2') for name, _ in video_cases)
    for name, base in rows:
        print(f'{name:30s} {res[name]:10.2f} {res[name] / res[base]:7.2f}x')
    print(f'(median PiCo sample: {res["pairs"]:.0f} pairs inside both views '
          'before the P=128 cap)')
    goals = rows[1:4:2] + tuple(r for r in rows[4:] if 'store' in r[0])
    for name, base in goals:
        ok = res[name] / res[base] <= 1.5
        print(f'goal {name} / {base} <= 1.5x: {"met" if ok else "NOT met"}')
    if args.clips:
        per = [b / args.clips for b in sizes]
        print(f'{args.clip_seconds:g} s 256x340 clip: H.264 source {per[0] / 1e6:.2f} MB, '
              f'frames kept in the store (JPEG q90) {per[1] / 1e6:.2f} MB '
              f'(x 240k K400 clips of this length: {per[1] * 240e3 / 1e12:.2f} TB)')
    if tmp is not None:
        tmp.cleanup()


if __name__ == '__main__':
    main()
