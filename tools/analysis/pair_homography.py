#!/usr/bin/env python
"""Are a sampler's pairs crop-like? Fraction of pairs off one RANSAC homography.

Examples::

    # PiCo's pairs on the demo clips, exactly as training sees them (view
    # coordinates after crops, flips and the pair cap), 300 samples
    python tools/analysis/pair_homography.py work_dirs/demo/configs/encoder.py \\
        --samplers anchor static_frame --samples 300 --json pair_homography.json

The config's training dataset is built once per sampler (``anchor`` = PiCo,
``static_frame``, ``static_video``, ``random``) with the config's own pipeline;
``--samples`` items are drawn with the same seed. For each sample a homography is
fitted to its packed pairs (the ones the loss gets) with RANSAC, threshold one
feature cell (``--cell``, pixels of the view), and the fraction of pairs whose
reprojection error exceeds one cell is counted. Printed per sampler: samples
used (and skipped: fewer than ``--min-pairs`` pairs, or no homography), pairs per
sample, and the fraction off: mean and median over samples, and pooled over all
pairs. Crops of one frame (``static_frame``) give 0. Point the config's
``data_prefix.tracks`` at other track files (``--cfg-options``) to score them.

``--rendered-oracle DIR`` scores the PiCo-oracle pairs of rendered clips instead of
the config's data (same pipeline, sampler and pair cap): ``--clips`` clips of the
renderer's train split (``pico_mm.demo.render``, 96×160, 48 frames) are written to
``DIR/videos`` as MJPG .avi, seeded as the tracker seeds (``--seeds`` uniform in
space and time) and continued with the renderer's exact motion
(``pico_mm.demo.render.oracle_tracks``) into ``DIR/tracks``.
"""
import argparse
import json
import os.path as osp
import random
import sys

import numpy as np
from tqdm import tqdm

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from pico_mm.utils.batch_job import atomic_write_bytes  # noqa: E402

SAMPLERS = ('anchor', 'static_frame', 'static_video', 'random')


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='a configs/pico config (or a demo config)')
    p.add_argument('--samplers', nargs='+', default=['anchor'], choices=SAMPLERS)
    p.add_argument('--samples', type=int, default=200)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cell', type=float, default=4.0,
                   help='one feature cell in view pixels (the stride)')
    p.add_argument('--min-pairs', type=int, default=8,
                   help='skip samples with fewer pairs')
    p.add_argument('--json', default=None, help='also write the numbers here')
    p.add_argument('--rendered-oracle', default=None, metavar='DIR',
                   help='score PiCo-oracle pairs of rendered clips written here')
    p.add_argument('--clips', type=int, default=8,
                   help='rendered train clips (with --rendered-oracle)')
    p.add_argument('--seeds', type=int, default=4096,
                   help='track seeds per rendered clip (the tracker default)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings (mmengine syntax)')
    args = p.parse_args(argv)
    if args.samples < 1 or args.cell <= 0 or args.min_pairs < 4:
        p.error('--samples must be >= 1, --cell > 0, --min-pairs >= 4')
    if args.clips < 1 or args.seeds < 1:
        p.error('--clips and --seeds must be >= 1')
    if not osp.isfile(args.config):
        p.error(f'config {args.config} not found')
    return args


def view_pairs(dataset, num: int, seed: int, desc: str):
    """Yield ``(src, dst)`` view-coordinate pairs of ``num`` samples."""
    random.seed(seed)
    np.random.seed(seed)
    for i in tqdm(range(num), desc=desc, unit='sample'):
        sample = dataset[i % len(dataset)]['data_samples']
        valid = sample.points_valid.numpy().astype(bool)
        yield sample.points_q.numpy()[valid], sample.points_k.numpy()[valid]


def _write_avi(path: str, frames: np.ndarray, fps: int = 30) -> None:
    import os

    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp.avi'
    out = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'MJPG'), fps,
                          (frames.shape[2], frames.shape[1]))
    for f in frames:
        out.write(f)
    out.release()
    os.replace(tmp, path)


def prepare_oracle(out_dir: str, clips: int, seeds: int) -> dict:
    """Rendered train clips + PiCo-oracle tracks; returns the dataset fields."""
    from pico_mm.demo.render import ClipConfig, render_clip
    from pico_mm.demo.render.oracle_tracks import oracle_tracks
    from pico_mm.tracking import save_tracks
    from pico_mm.tracking.tracker import sample_seeds
    from pico_mm.tracking.tracks import STOP_LEFT, Tracks
    from pico_mm.utils.batch_job import atomic_write_bytes
    vdir, tdir = osp.join(out_dir, 'videos'), osp.join(out_dir, 'tracks')
    lines = []
    for i in tqdm(range(clips), desc='render + oracle tracks', unit='clip'):
        clip = render_clip('train', i, ClipConfig())
        T, H, W = clip.frames.shape[:3]
        video = osp.join(vdir, clip.name + '.avi')
        _write_avi(video, clip.frames)
        start, xy = sample_seeds(seeds, T, (H, W), np.random.default_rng(i))
        dis = Tracks(start, np.ones(seeds), np.full(seeds, STOP_LEFT), xy,
                     np.zeros((0, 2)), T, (H, W),
                     dict(source=video, fps=30, short_side=min(H, W),
                          flow_path='', alpha=0.02, beta=1.0))
        save_tracks(osp.join(tdir, clip.name + '.npz'),
                    oracle_tracks(clip.scene, dis))
        lines.append(f'{clip.name}.avi 0')
    ann = osp.join(out_dir, 'list.txt')
    atomic_write_bytes(ann, ('\n'.join(lines) + '\n').encode())
    return dict(ann_file=osp.abspath(ann), data_root='',
                data_prefix=dict(video=osp.abspath(vdir),
                                 tracks=osp.abspath(tdir)))


def main(argv=None) -> int:
    args = parse_args(argv)
    import pico_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import DATASETS

    from pico_mm.evaluation.pair_homography import summarize_off_homography
    print('device: cpu (numpy/OpenCV RANSAC; no model)')
    results = {}
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmselfsup'))
        data = {} if args.rendered_oracle is None else prepare_oracle(
            args.rendered_oracle, args.clips, args.seeds)
        for sampler in args.samplers:
            ds_cfg = dict(cfg.train_dataloader.dataset, frame_sampler=sampler,
                          **data)
            dataset = DATASETS.build(ds_cfg)
            results[sampler] = summarize_off_homography(
                view_pairs(dataset, args.samples, args.seed, sampler),
                args.cell, args.min_pairs)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f'error: {args.config}: {type(e).__name__}: {e}', file=sys.stderr)
        return 2
    print(f'\nPairs off one RANSAC homography by more than {args.cell:g} px '
          f'(one feature cell), {args.samples} samples per sampler, seed '
          f'{args.seed}')
    head = (f'{"sampler":<13} {"used":>5} {"skipped":>8} {"pairs/sample":>12} '
            f'{"mean":>7} {"median":>7} {"pooled":>7}')
    print(head + '\n' + '-' * len(head))
    for name, r in results.items():
        print(f'{name:<13} {r["used"]:>5d} {r["few_pairs"] + r["degenerate"]:>8d} '
              f'{r["pairs_per_sample"]:>12.1f} {r["mean"]:>7.3f} '
              f'{r["median"]:>7.3f} {r["pooled"]:>7.3f}')
    if args.json:
        out = dict(config=osp.abspath(args.config), cell=args.cell,
                   samples=args.samples, seed=args.seed,
                   min_pairs=args.min_pairs, samplers=results,
                   rendered_oracle=None if args.rendered_oracle is None else
                   dict(dir=osp.abspath(args.rendered_oracle),
                        clips=args.clips, seeds=args.seeds))
        atomic_write_bytes(args.json, json.dumps(out, indent=1).encode())
        print(f'\nresults: {args.json}')
    if not any(r['used'] for r in results.values()):
        print('error: no sample had enough pairs to fit a homography',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
