"""Tiny tracked video sets for the dataset / config / e2e tests (not a test).

Videos are a random texture under a known per-frame translation; their tracks
come from the real tracker (:func:`pico_mm.tracking.track_video`) run on the
exact ground-truth flow, so a correspondence ``p1 -> p2`` between frames
``t1 -> t2`` must satisfy ``p2 = p1 + (t2 - t1) * shift``.
"""
import os
import os.path as osp

import cv2
import numpy as np

from pico_mm.tracking import save_tracks, track_video
from pico_mm.tracking.synthetic import (affine_video, motion_matrix,
                                        textured_image)

H, W, T = 64, 80, 12


def render(seed, shift, num_frames=T):
    """Frames, fwd/bwd GT flows of one translating texture."""
    img = textured_image(H, W, seed)
    step = motion_matrix(shift=shift)
    frames, fwd, bwd, _ = affine_video(img, step, num_frames)
    return frames, fwd, bwd


def write_rawframes(folder, frames):
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames, 1):
        cv2.imwrite(osp.join(folder, f'img_{i:05d}.jpg'), f,
                    [cv2.IMWRITE_JPEG_QUALITY, 98])


def write_avi(path, frames, fps=30):
    os.makedirs(osp.dirname(path), exist_ok=True)
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), fps,
                          (frames[0].shape[1], frames[0].shape[0]))
    for f in frames:
        out.write(f)
    out.release()


# what tools/data/track_points.py extracts at: the loosest shipped sweep point
EXTRACT_ALPHA, EXTRACT_BETA = 0.02, 1.0


def make_tracks(frames, fwd, bwd, source, seed=0, num_points=400,
                dead=False, noise=0.0):
    """Tracks on the GT flow at the tool's extraction (alpha, beta).

    ``dead=True`` gives tracks that never move on (length 1: no usable
    pair); ``noise`` > 0 adds Gaussian noise (px) to the backward flow, so
    the consistency terms vary and stricter alpha/beta cut tracks.
    """
    n = len(frames)
    meta = dict(source=source, fps=30, short_side=H, flow_path='',
                alpha=EXTRACT_ALPHA, beta=EXTRACT_BETA)
    if dead:
        from pico_mm.tracking import Tracks
        pts = np.random.default_rng(seed).uniform(0, W - 1, (num_points, 2))
        return Tracks(np.zeros(num_points), np.ones(num_points),
                      np.full(num_points, 2), pts, np.zeros((0, 2)), n,
                      (H, W), meta)
    if noise:
        rng = np.random.default_rng(1000 + seed)
        bwd = [b + rng.normal(0, noise, b.shape).astype(np.float32)
               for b in bwd]
    return track_video(lambda t: (fwd[t], bwd[t]), n, (H, W), num_points,
                       np.random.default_rng(seed), EXTRACT_ALPHA,
                       EXTRACT_BETA, meta=meta)


def make_video_set(root, kind='video', shifts=((1.0, 0.0), (0.0, -1.0)),
                   dead=(), num_frames=T, noise=0.0):
    """Write videos, tracks and an mmaction2 list under ``root``.

    Args:
        root (str): Output folder (gets ``list.txt``, ``videos/``,
            ``tracks/``).
        kind (str): 'video' (``.avi`` + ``path label`` list) or 'rawframes'
            (``img_%05d.jpg`` folders + ``dir total label`` list).
        shifts (sequence): Per-video (dx, dy) motion per frame.
        dead (sequence[int]): Indices of videos whose tracks are unusable.
        num_frames (int): Frames per video.
        noise (float): Backward-flow noise of the tracks (``make_tracks``).

    Returns:
        dict: ``list`` path, ``videos`` dir, ``tracks`` dir, ``shifts``,
        ``frames`` (list of rendered frame lists), ``rel`` (list paths).
    """
    vdir, tdir = osp.join(root, 'videos'), osp.join(root, 'tracks')
    lines, rels, all_frames = [], [], []
    for i, shift in enumerate(shifts):
        frames, fwd, bwd = render(100 + i, shift, num_frames)
        all_frames.append(frames)
        if kind == 'video':
            rel = f'cls{i % 2}/vid{i}.avi'
            write_avi(osp.join(vdir, rel), frames)
            lines.append(f'{rel} {i % 2}')
        else:
            rel = f'cls{i % 2}/vid{i}'
            write_rawframes(osp.join(vdir, rel), frames)
            lines.append(f'{rel} {len(frames)} {i % 2}')
        rels.append(rel)
        tracks = make_tracks(frames, fwd, bwd, osp.join(vdir, rel), seed=i,
                             dead=i in dead, noise=noise)
        save_tracks(osp.join(tdir, osp.splitext(rel)[0] + '.npz'), tracks)
    lst = osp.join(root, 'list.txt')
    with open(lst, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(list=lst, videos=vdir, tracks=tdir, shifts=list(shifts),
                frames=all_frames, rel=rels)
