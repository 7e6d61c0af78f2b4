#!/usr/bin/env python
"""Render clips with exact ground truth and write them in the DAVIS-2017 layout.

Examples::

    python tools/data/render_clips.py data/rendered                 # default set
    python tools/data/render_clips.py data/rendered_big --splits val --clips 20 \\
        --size 240 427 --frames 60

Writes ``JPEGImages/480p/<clip>/00000.jpg``, ``Annotations/480p/<clip>/00000.png``
(palette PNG: 0 background, 1..N objects), ``ImageSets/2017/<split>.txt`` and the
exact tracks ``Correspondences/<clip>.npz`` (``query_frame`` N, ``tracks`` N×T×2
``(x, y)``, ``visible`` N×T, ``obj_id`` N: a grid of points every ``--grid`` px
placed on every ``--query-every``-th frame). The folder keeps DAVIS's ``480p`` name
at the smaller ``--size``. With ``--rawframes`` the frames are also linked as
mmaction2 rawframes ``rawframes/<clip>/img_00001.jpg``, the training input of
``tools/data/extract_flow.py`` (every frame kept: rawframes have no frame rate)
-> ``track_points.py`` -> ``oracle_tracks.py`` (PiCo-oracle). Clips are bit-identical on any x86-64 machine (the
fingerprints are printed and written to ``render_info.json``). Every file is written
temp-then-rename.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('out_dir', help='output root (DAVIS-2017 layout)')
    p.add_argument('--splits', nargs='+', choices=SPLITS, default=list(SPLITS))
    p.add_argument('--clips', type=int, default=None,
                   help='clips per split (default: train 8, val 4, test 4)')
    p.add_argument('--size', type=int, nargs=2, default=[96, 160],
                   metavar=('H', 'W'), help='frame size')
    p.add_argument('--frames', type=int, default=48, help='frames per clip')
    p.add_argument('--objects', type=int, default=3, help='objects per clip')
    p.add_argument('--grid', type=int, default=4,
                   help='spacing (px) of the tracked points')
    p.add_argument('--query-every', type=int, default=10,
                   help='place tracked points on every N-th frame')
    p.add_argument('--quality', type=int, default=95, help='JPEG quality')
    p.add_argument('--rawframes', action='store_true',
                   help='also link the frames as mmaction2 rawframes '
                   '(rawframes/<clip>/img_00001.jpg, same bytes), the input of '
                   'tools/data/extract_flow.py for training on rendered clips')
    p.add_argument('--resolution', default='480p',
                   help='sub-folder name under JPEGImages/ and Annotations/')
    args = p.parse_args(argv)
    if min(args.size) < 16 or args.frames < 2 or args.objects < 2:
        p.exit(2, 'error: --size must be >= 16, --frames >= 2, --objects >= 2\n')
    if args.grid < 1 or args.query_every < 1 or (args.clips or 1) < 1:
        p.exit(2, 'error: --grid, --query-every and --clips must be >= 1\n')
    return args


def clip_tracks(clip, grid: int, query_every: int):
    """Exact tracks of grid points placed on every ``query_every``-th frame."""
    import numpy as np

    from pico_mm.demo.render import track_points
    from pico_mm.evaluation.davis_layout import ClipTracks
    sc = clip.scene
    ys, xs = np.mgrid[grid // 2:sc.height:grid, grid // 2:sc.width:grid]
    pts = np.stack([xs.reshape(-1), ys.reshape(-1)], 1).astype(np.float64)
    parts = [(t0, ) + track_points(sc, t0, pts)
             for t0 in range(0, sc.num_frames, query_every)]
    return ClipTracks(
        np.concatenate([np.full(len(p[1]), p[0], np.int16) for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]))


def link_rawframes(root: str, name: str, num_frames: int, resolution: str):
    """Hard-link ``JPEGImages/<res>/<name>/%05d.jpg`` as mmaction2 rawframes
    ``rawframes/<name>/img_%05d.jpg`` (1-based; copied where links fail)."""
    import os
    import shutil
    out = osp.join(root, 'rawframes', name)
    os.makedirs(out, exist_ok=True)
    for t in range(num_frames):
        src = osp.join(root, 'JPEGImages', resolution, name, f'{t:05d}.jpg')
        dst = osp.join(out, f'img_{t + 1:05d}.jpg')
        tmp = dst + '.tmp'
        if osp.exists(tmp):
            os.remove(tmp)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from pico_mm.demo.render import (DEFAULT_CLIPS, RENDER_VERSION, ClipConfig,
                                     render_clip, set_fingerprint)
    from pico_mm.evaluation.davis_layout import (write_annotations,
                                                 write_frames, write_image_set,
                                                 write_tracks)
    from pico_mm.evaluation.exact_gt_pairs import ExactGTError
    print('device: cpu (numpy renderer)')
    cfg = ClipConfig(args.size[0], args.size[1], args.frames, args.objects)
    jobs = [(s, i) for s in args.splits
            for i in range(args.clips or DEFAULT_CLIPS[s])]
    info = dict(version=RENDER_VERSION, config=vars(cfg), grid=args.grid,
                query_every=args.query_every, quality=args.quality,
                resolution=args.resolution, clips={}, splits={})
    start = time.time()
    clips_by_split = {s: [] for s in args.splits}
    try:
        for split, i in tqdm(jobs, desc='render clips', unit='clip'):
            clip = render_clip(split, i, cfg)
            write_frames(args.out_dir, clip.name, clip.frames, args.resolution,
                         args.quality)
            if args.rawframes:
                link_rawframes(args.out_dir, clip.name, len(clip.frames),
                               args.resolution)
            write_annotations(args.out_dir, clip.name, clip.masks,
                              args.resolution)
            write_tracks(args.out_dir, clip.name,
                         clip_tracks(clip, args.grid, args.query_every),
                         fingerprint=clip.fingerprint(), version=RENDER_VERSION)
            info['clips'][clip.name] = clip.fingerprint()
            clips_by_split[split].append(clip)
    except ExactGTError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    for split, clips in clips_by_split.items():
        write_image_set(args.out_dir, split, [c.name for c in clips])
        info['splits'][split] = dict(clips=len(clips),
                                     fingerprint=set_fingerprint(clips))
    atomic_write_bytes(osp.join(args.out_dir, 'render_info.json'),
                       json.dumps(info, indent=1).encode())
    for split, d in info['splits'].items():
        print(f'{split}: {d["clips"]} clips, fingerprint {d["fingerprint"]}')
    print(f'{len(jobs)} clips of {args.frames} frames at {args.size[0]}x'
          f'{args.size[1]} px in {time.time() - start:.1f} s -> {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
