"""Tiny generated inputs for the pre-processing tools' tests: videos of a
moving texture and a folder of flow stores (two good, one truncated)."""
import os
import os.path as osp

import cv2
import numpy as np

from pico_mm.flow import FlowStoreWriter
from pico_mm.tracking.synthetic import (affine_video, motion_matrix,
                                        occlusion_video, textured_image)


def make_tiny_videos(root, n=12, frames=3, names=None):
    """``n`` tiny 40×32 MJPG clips ``v00.avi``... (or ``<name>.avi``) of a
    moving texture; returns their names without the extension, sorted."""
    rng = np.random.default_rng(0)
    os.makedirs(root, exist_ok=True)
    names = list(names or (f'v{v:02d}' for v in range(n)))
    for name in names:
        vw = cv2.VideoWriter(osp.join(root, f'{name}.avi'),
                             cv2.VideoWriter_fourcc(*'MJPG'), 30, (40, 32))
        tex = rng.uniform(0, 255, (40, 60, 3)).astype(np.uint8)
        for i in range(frames):
            vw.write(np.ascontiguousarray(tex[i:i + 32, i:i + 40]))
        vw.release()
    return sorted(names)


def write_store(path, fwd, bwd):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with FlowStoreWriter(path, bound=20, quality=95) as w:
        for f, b in zip(fwd, bwd):
            w.add_pair(f, b)
        w.finish(fps=30, short_side=fwd[0].shape[0], source='synthetic.mp4',
                 source_kind='video')


def make_flow_dir(root):
    """``root/flow`` with classA/vid1, classB/vid2 and a truncated
    classB/broken store; returns its path."""
    flow = osp.join(root, 'flow')
    _, fwd, bwd, _ = affine_video(textured_image(40, 56),
                                  motion_matrix((0.6, 0.3)), 12)
    write_store(osp.join(flow, 'classA', 'vid1.zip'), fwd, bwd)
    _, fwd, bwd, _ = occlusion_video(40, 56, 10, 12, 0, 14, 2)
    write_store(osp.join(flow, 'classB', 'vid2.zip'), fwd, bwd)
    good = open(osp.join(flow, 'classA', 'vid1.zip'), 'rb').read()
    with open(osp.join(flow, 'classB', 'broken.zip'), 'wb') as f:
        f.write(good[:len(good) // 3])  # truncated: no meta.json, no dir
    return flow
