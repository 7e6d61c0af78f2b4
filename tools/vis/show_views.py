#!/usr/bin/env python
"""Draw one PiCo training sample: raw frame pair and both augmented views,
with the point pairs joined by lines.

    python tools/vis/show_views.py configs/pico/pico_r18-fpn_tiny_cpu.py \
        --index 0 --out work_dirs/views.png [--seed 0] [--max-lines 48] \
        [--cfg-options train_dataloader.dataset.data_root=data/pico_tiny/]

Top row: frame t1 | frame t2 as decoded (with the sampled correspondences);
bottom row: view 1 | view 2 after the view pipeline (what the model sees).
"""
import argparse
import copy
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='training config (its train dataset is used)')
    p.add_argument('--index', type=int, default=0, help='video index in the list')
    p.add_argument('--out', default='views.png', help='output PNG path')
    p.add_argument('--seed', type=int, default=0, help='random seed')
    p.add_argument('--max-lines', type=int, default=48,
                   help='most point pairs drawn (random subset)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides key=value (like tools/train.py)')
    return p.parse_args(argv)


def _colour(i, n):
    hsv = np.uint8([[[int(180 * i / max(n, 1)) % 180, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_pairs(img1, img2, p1, p2, max_lines, rng, height=None):
    """Two images side by side (same height) with lines joining p1 -> p2.

    Args:
        img1, img2 (np.ndarray): H×W×3 uint8 BGR images.
        p1, p2 (np.ndarray): M×2 (x, y) pixel-index points in each image.
        max_lines (int): Most pairs drawn.
        rng (np.random.Generator): Picks the subset.
        height (int, optional): Common output height (default: max height).

    Returns:
        np.ndarray: uint8 BGR canvas.
    """
    height = height or max(img1.shape[0], img2.shape[0])
    ims, pts = [], []
    for img, p in ((img1, p1), (img2, p2)):
        s = height / img.shape[0]
        w = max(1, int(round(img.shape[1] * s)))
        ims.append(cv2.resize(img, (w, height), interpolation=cv2.INTER_NEAREST))
        pts.append((np.asarray(p, np.float32) + 0.5) * np.float32(
            [w / img.shape[1], s]) - 0.5)
    gap = 8
    canvas = np.full((height, ims[0].shape[1] + gap + ims[1].shape[1], 3), 255,
                     np.uint8)
    canvas[:, :ims[0].shape[1]] = ims[0]
    canvas[:, ims[0].shape[1] + gap:] = ims[1]
    off = ims[0].shape[1] + gap
    n = len(pts[0])
    sel = rng.permutation(n)[:max_lines] if n else []
    for j, i in enumerate(sel):
        c = _colour(j, len(sel))
        a = tuple(int(round(v)) for v in pts[0][i])
        b = (int(round(pts[1][i][0])) + off, int(round(pts[1][i][1])))
        cv2.line(canvas, a, b, c, 1, cv2.LINE_AA)
        cv2.circle(canvas, a, 3, c, -1, cv2.LINE_AA)
        cv2.circle(canvas, b, 3, c, -1, cv2.LINE_AA)
    return canvas


def write_png(path, img):
    """Write ``img`` atomically (temp file + rename)."""
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = osp.join(d, f'.{osp.basename(path)}.tmp.png')
    if not cv2.imwrite(tmp, img):
        raise OSError(f'cannot write {path}')
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'error: config not found: {args.config} (pass a configs/pico/*.py file)')
    import pico_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import DATASETS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmselfsup'))
    np.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    try:
        ds = DATASETS.build(cfg.train_dataloader.dataset)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: cannot build the dataset: {e}')
    if not 0 <= args.index < len(ds):
        sys.exit(f'error: --index {args.index} out of range (0..{len(ds) - 1})')
    for attempt in range(20):
        raw = ds.prepare_sample(args.index, rng)
        packed = ds.pipeline(copy.deepcopy(raw))
        sample = packed['data_samples']
        if sample.points_valid.any():
            break
    else:
        sys.exit(f'error: no point pair survived the views of video {args.index} '
                 'in 20 tries (check the tracks or the crop scale)')
    v1, v2 = (t.permute(1, 2, 0).numpy().copy() for t in packed['inputs'])
    valid = sample.points_valid.numpy()
    q, k = sample.points_q.numpy()[valid], sample.points_k.numpy()[valid]
    height = max(v1.shape[0], 160)
    top = draw_pairs(raw['img'], raw['img2'], raw['points1'], raw['points2'],
                     args.max_lines, np.random.default_rng(args.seed), height)
    bottom = draw_pairs(v1, v2, q, k, args.max_lines,
                        np.random.default_rng(args.seed), height)
    w = max(top.shape[1], bottom.shape[1])
    pad = lambda im: cv2.copyMakeBorder(  # noqa: E731
        im, 0, 0, 0, w - im.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))
    canvas = np.concatenate([pad(top), np.full((8, w, 3), 255, np.uint8),
                             pad(bottom)], 0)
    write_png(args.out, canvas)
    t1, t2 = raw['frame_inds']
    print(f'{args.out}: video {raw["video"]} frames {t1}->{t2} '
          f'({ds.frame_sampler}), {len(raw["points1"])} pairs sampled, '
          f'{int(valid.sum())} kept in the views (attempt {attempt + 1})')


if __name__ == '__main__':
    main()
