"""A cached corpus of K400-sized clips for the cache-miss case of bench_data.

``make_corpus(root, n)`` makes ``n`` distinct 10 s, 30 fps, 256x340 clips
with the project's synthetic scene generator (``pico_mm.demo.synthetic``:
textured background under a moving, zooming camera, independently moving
textured objects, one seed per clip), then runs the project's own pipeline
at its defaults:

    python tools/data/extract_flow.py ROOT/videos ROOT/flow --backend dis
    python tools/data/track_points.py ROOT/flow ROOT/tracks

(DIS flow, frames kept in the store as JPEG q90, 4096 seeds, alpha 0.02,
beta 1.0). Every step is resumable, so a rerun with the same ``ROOT`` only
checks the files (the corpus stays under the work dir; remove it to rebuild).
It also writes ``tracks_v1/`` (the same tracks in the old format 1, for the
old-path timing), ``moco/`` (8 q90 JPEG frames per clip for the MoCo-v2
side) and ``list.txt``. :func:`cache_miss_case` is the cache-miss case of
``benchmarks/bench_data.py``.
"""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SECONDS, FPS, H, W = 10, 30, 256, 340


def _run(args, what):
    cmd = [sys.executable] + args
    print('+ ' + ' '.join(args), flush=True)
    r = subprocess.run(cmd, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f'{what} failed (exit {r.returncode}): '
                         + ' '.join(args))


def make_corpus(root: str, n_clips: int, progress: bool = True) -> str:
    """Build (or reuse) the corpus; returns the list file path."""
    import cv2
    import numpy as np
    from tqdm import tqdm

    from pico_mm.demo.synthetic import SceneConfig, render_video, write_video
    vid_dir = osp.join(root, 'videos')
    os.makedirs(vid_dir, exist_ok=True)
    cfg = SceneConfig(height=H, width=W, num_frames=SECONDS * FPS, fps=FPS,
                      num_objects=4, max_cam_shift=120.0, max_zoom=0.15,
                      max_obj_speed=2.0)
    names = [f'c{i:03d}' for i in range(n_clips)]
    todo = [n for n in names if not osp.isfile(osp.join(vid_dir, n + '.mp4'))]
    for name in tqdm(todo, desc='rendering 10 s clips', disable=not progress):
        write_video(render_video(1000 + int(name[1:]), cfg),
                    osp.join(vid_dir, name), FPS)
    _run(['tools/data/extract_flow.py', vid_dir, osp.join(root, 'flow'),
          '--backend', 'dis'], 'flow extraction')
    _run(['tools/data/track_points.py', osp.join(root, 'flow'),
          osp.join(root, 'tracks')], 'tracking')
    from pico_mm.flow import StoreFrames
    from pico_mm.tracking import load_tracks, save_tracks
    moco_dir = osp.join(root, 'moco')
    os.makedirs(moco_dir, exist_ok=True)
    for name in tqdm(names, desc='old-format copies, MoCo frames',
                     disable=not progress):
        v1 = osp.join(root, 'tracks_v1', name + '.npz')
        if not osp.isfile(v1):
            save_tracks(v1, load_tracks(osp.join(root, 'tracks',
                                                 name + '.npz')), version=1)
        if not osp.isfile(osp.join(moco_dir, f'{name}_7.jpg')):
            store = StoreFrames(osp.join(root, 'flow', name + '.zip'))
            inds = np.linspace(0, store.num_frames - 1, 8).astype(int)
            for j, img in enumerate(store.read_many(list(inds))):
                cv2.imwrite(osp.join(moco_dir, f'{name}_{j}.jpg'), img,
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
            store.close()
    lst = osp.join(root, 'list.txt')
    with open(lst, 'w') as f:
        f.write(''.join(f'{n}.mp4 0\n' for n in names))
    return lst


def _io():
    """``(rchar, read_bytes)`` of this process: bytes asked of read
    syscalls, bytes fetched from storage (not the page cache)."""
    with open('/proc/self/io') as f:
        vals = dict(line.split(': ') for line in f.read().splitlines())
    return int(vals['rchar']), int(vals['read_bytes'])


def _evict(paths):
    """Drop ``paths`` from the OS page cache (clean pages; no root needed)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _drop_all_caches() -> str:
    r = subprocess.run(['sh', '-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'],
                       capture_output=True, text=True)
    return 'worked' if r.returncode == 0 else (
        'refused (' + (r.stderr.strip().splitlines() or ['?'])[-1] + ')')


def cache_miss_case(args, mocov2_view):
    """Time MoCo-v2 and PiCo (format 2 and 1) on distinct clips, cold."""
    import time

    import numpy as np
    from mmengine.config import Config
    from mmselfsup.registry import DATASETS, TRANSFORMS

    import pico_mm.datasets.track_source as track_source
    root = osp.abspath(args.k400_dir)
    lst = make_corpus(root, args.k400_clips)
    n = args.k400_clips
    names = [f'c{i:03d}' for i in range(n)]
    cfg = Config.fromfile(osp.join(ROOT, 'configs/pico/_base_/datasets/'
                                   'k400_pico.py'))
    moco = [TRANSFORMS.build(t) for t in [
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=2, transforms=[mocov2_view]),
        dict(type='PackSelfSupInputs', meta_keys=['img_path'])]]
    opened = []
    real_open = track_source.open_tracks
    track_source.open_tracks = lambda *a, **k: opened.append(
        real_open(*a, **k)) or opened[-1]
    pipes, files = {}, {}
    rng = np.random.default_rng(0)
    for name, tdir in (('pico, format 2', 'tracks'),
                       ('pico, format 1 (old path)', 'tracks_v1')):
        ds = DATASETS.build(dict(
            cfg.train_dataloader.dataset, data_root=root, ann_file=lst,
            data_prefix=dict(video='videos', tracks=tdir, flow='flow')))
        pipes[name] = ds
        files[name] = lambda i, tdir=tdir: [
            osp.join(root, tdir, names[i] + '.npz'),
            osp.join(root, 'flow', names[i] + '.zip')]
    files['mocov2'] = lambda i: [osp.join(root, 'moco', f'{names[i]}_'
                                          f'{i * 7 % 8}.jpg')]
    dropped = _drop_all_caches()
    order = np.concatenate([rng.permutation(n) for _ in range(
        -(-args.k400_samples // n) + 1)])
    stats = {k: dict(ms=[], rchar=[], disk=[], track=[])
             for k in ['mocov2'] + list(pipes)}
    pairs = []
    for step, i in enumerate(order[:args.k400_samples + 4]):
        for key in stats:
            _evict(files[key](int(i)))
            opened.clear()
            io0, t0 = _io(), time.perf_counter()
            if key == 'mocov2':
                r = dict(img_path=files[key](int(i))[0])
                for t in moco:
                    r = t(r)
            else:
                out = pipes[key][int(i)]
            dt = time.perf_counter() - t0
            io1 = _io()
            if step < 4:  # warm-up: imports, first allocations
                continue
            st = stats[key]
            st['ms'].append(dt * 1000)
            st['rchar'].append(io1[0] - io0[0])
            st['disk'].append(io1[1] - io0[1])
            if opened:
                tr = opened[-1]
                st['track'].append(getattr(tr, 'bytes_read', None) or
                                   os.path.getsize(files[key](int(i))[0]))
            if key == 'pico, format 2':
                pairs.append(int(out['data_samples'].num_pairs))
    track_source.open_tracks = real_open
    _report(args, root, stats, pipes, pairs, dropped)


def _report(args, root, stats, pipes, pairs, dropped):
    import numpy as np
    base = np.median(stats['mocov2']['ms'])
    print(f'\ncache-miss case: {args.k400_clips} distinct 10 s clips '
          f'(30 fps, 256x340, DIS, 4096 seeds), {args.k400_samples} samples '
          'each in random permutations, K400 dataset config, 1 thread; '
          f'load {os.getloadavg()[0]:.1f}')
    print(f'{"pipeline":28s} {"median ms":>9s} {"p90 ms":>7s} {"ratio":>6s}'
          f' {"read KB":>8s} {"storage KB":>10s} {"track KB":>8s}')
    for key, st in stats.items():
        med = np.median(st['ms'])
        trk = f'{np.median(st["track"]) / 1e3:8.1f}' if st['track'] else (
            '       -')
        print(f'{key:28s} {med:9.2f} {np.percentile(st["ms"], 90):7.2f} '
              f'{med / base:5.2f}x {np.mean(st["rchar"]) / 1e3:8.1f} '
              f'{np.mean(st["disk"]) / 1e3:10.1f} {trk}')
    for key, ds in pipes.items():
        print(f'{key}: dataset caches: tracks {ds._tracks.hits} hits / '
              f'{ds._tracks.misses} misses, frames {ds._frames.hits} hits / '
              f'{ds._frames.misses} misses')
    print(f'(median pairs inside both views before the P=128 cap: '
          f'{np.median(pairs):.0f})')
    print(f'OS page cache: drop_caches {dropped}; each sample\'s files were '
          'evicted with posix_fadvise(DONTNEED) before it was timed '
          '("storage KB" > 0 shows the reads left the page cache)')
    for key in pipes:
        r = np.median(stats[key]['ms']) / base
        print(f'goal {key} / mocov2 <= 1.5x: {"met" if r <= 1.5 else "NOT met"}'
              f' ({r:.2f}x; stretch 1.2x {"met" if r <= 1.2 else "not met"})')
    sizes = {}
    for sub in ('tracks', 'tracks_v1', 'flow', 'videos'):
        d = osp.join(root, sub)
        fs = [osp.join(d, f) for f in os.listdir(d)
              if f.endswith(('.npz', '.zip', '.mp4'))]
        sizes[sub] = np.mean([osp.getsize(f) for f in fs])
    import zipfile
    with zipfile.ZipFile(osp.join(root, 'flow', 'c000.zip')) as z:
        frames = sum(i.file_size for i in z.infolist()
                     if i.filename.startswith('frame_'))
        frac = frames / sum(i.file_size for i in z.infolist())
    per = dict(flow=sizes['flow'] * (1 - frac), frames=sizes['flow'] * frac,
               tracks=sizes['tracks'], tracks_v1=sizes['tracks_v1'])
    print('storage per 10 s clip (mean of the corpus) and x 240k K400 clips: '
          + ', '.join(f'{k} {v / 1e6:.2f} MB ({v * 240e3 / 1e12:.2f} TB)'
                      for k, v in per.items()))


if __name__ == '__main__':
    make_corpus(sys.argv[1], int(sys.argv[2]))
