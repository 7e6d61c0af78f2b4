#!/usr/bin/env python
"""PCA-to-RGB picture of a PiCo checkpoint's dense embedding on a few frames.

    python tools/vis/show_features_pca.py CONFIG CHECKPOINT INPUT [INPUT ...] \
        [--frames 0 15 30] [--size 224] [--out work_dirs/pca.png]

INPUT is an image file, or a video / rawframe folder (then ``--frames`` picks
the frame indices, default 0). The 128-d stride-4 embedding
(``model.extract_feat``) of all frames is L2-normalised, projected jointly on
its first 3 principal components and shown as RGB next to each frame (one row
per frame), so the same colour means a similar feature across frames.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='model config (e.g. configs/pico/...)')
    p.add_argument('checkpoint', help='checkpoint .pth written by tools/train.py')
    p.add_argument('inputs', nargs='+', help='images, videos or rawframe dirs')
    p.add_argument('--frames', type=int, nargs='+', default=[0],
                   help='frame indices taken from each video input')
    p.add_argument('--size', type=int, default=224,
                   help='short side the frames are resized to (multiple of 32)')
    p.add_argument('--out', default='pca.png', help='output PNG path')
    p.add_argument('--device', default='cpu', help='torch device')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides key=value')
    return p.parse_args(argv)


def read_inputs(inputs, frames):
    """All frames as uint8 H×W×3 BGR with a label each."""
    from pico_mm.flow import VideoReadError, load_frames
    out = []
    for path in inputs:
        if not osp.exists(path):
            sys.exit(f'error: input not found: {path}')
        if osp.isfile(path) and cv2.haveImageReader(path):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                sys.exit(f'error: cannot decode image {path}')
            out.append((osp.basename(path), img))
            continue
        try:
            imgs = load_frames(path, frames, fps=None, short_side=None)
        except (VideoReadError, IndexError) as e:
            sys.exit(f'error: cannot read frames {frames} of {path}: {e}')
        out += [(f'{osp.basename(path)}#{t}', im) for t, im in zip(frames, imgs)]
    return out


def resize_short(img, size):
    h, w = img.shape[:2]
    s = size / min(h, w)
    nh = max(32, int(round(h * s / 32)) * 32)
    nw = max(32, int(round(w * s / 32)) * 32)
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1
                      else cv2.INTER_LINEAR)


def pca_rgb(embs):
    """Joint 3-component PCA of a list of C×h×w arrays -> list of h×w×3 uint8."""
    flat = np.concatenate([e.reshape(e.shape[0], -1).T for e in embs], 0)
    flat = flat - flat.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    proj = flat @ vt[:3].T
    lo, hi = np.percentile(proj, 1, 0), np.percentile(proj, 99, 0)
    proj = np.clip((proj - lo) / np.maximum(hi - lo, 1e-6), 0, 1)
    out, i = [], 0
    for e in embs:
        n = e.shape[1] * e.shape[2]
        rgb = (proj[i:i + n].reshape(e.shape[1], e.shape[2], 3) * 255)
        out.append(rgb.astype(np.uint8)[..., ::-1])  # RGB -> BGR for cv2
        i += n
    return out


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'error: {what} not found: {path}')
    import torch
    import torch.nn.functional as F
    import pico_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmselfsup.registry import MODELS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmselfsup'))
    cfg.model.pop('backbone_checkpoint', None)  # weights come from CHECKPOINT
    model = MODELS.build(cfg.model)
    try:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    except (RuntimeError, KeyError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        sys.exit(f'error: cannot load {args.checkpoint} into {cfg.model.type}: '
                 f'{first} (is it a checkpoint of this config?)')
    model.to(args.device).eval()
    frames = read_inputs(args.inputs, args.frames)
    embs, shown = [], []
    with torch.no_grad():
        for _, img in frames:
            img = resize_short(img, args.size)
            x = torch.from_numpy(img).permute(2, 0, 1)[None].to(args.device)
            # SelfSupDataPreprocessor: BGR->RGB, normalise; (inputs, samples)
            data = model.data_preprocessor(
                dict(inputs=[x], data_samples=None), False)
            inputs = data['inputs'] if isinstance(data, dict) else data[0]
            emb = F.normalize(model.extract_feat(inputs), dim=1)
            embs.append(emb[0].float().cpu().numpy())
            shown.append(img)
    rows = []
    for (label, _), img, rgb in zip(frames, shown, pca_rgb(embs)):
        rgb = cv2.resize(rgb, (img.shape[1], img.shape[0]),
                         interpolation=cv2.INTER_NEAREST)
        row = np.concatenate([img, np.full((img.shape[0], 8, 3), 255, np.uint8),
                              rgb], 1)
        cv2.putText(row, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    w = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 8, 0, w - r.shape[1], cv2.BORDER_CONSTANT,
                               value=(255, 255, 255)) for r in rows]
    d = osp.dirname(osp.abspath(args.out))
    os.makedirs(d, exist_ok=True)
    tmp = osp.join(d, f'.{osp.basename(args.out)}.tmp.png')
    if not cv2.imwrite(tmp, np.concatenate(rows, 0)):
        sys.exit(f'error: cannot write {args.out}')
    os.replace(tmp, args.out)
    print(f'{args.out}: {len(frames)} frame(s), embedding '
          f'{embs[0].shape[0]}x{embs[0].shape[1]}x{embs[0].shape[2]} per frame')


if __name__ == '__main__':
    main()
