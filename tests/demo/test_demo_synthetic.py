"""Tests of the synthetic demo video set."""
import os
import os.path as osp

import cv2
import numpy as np

from pico_mm.demo.synthetic import (SceneConfig, make_texture, make_video_set,
                                    render_video)

SMALL = SceneConfig(height=48, width=64, num_frames=12, num_objects=2)


def test_render_is_deterministic_and_moves():
    a = render_video(3, SMALL)
    b = render_video(3, SMALL)
    c = render_video(4, SMALL)
    assert len(a) == 12
    assert a[0].shape == (48, 64, 3) and a[0].dtype == np.uint8
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    # Consecutive frames differ (motion) but only moderately (small motion).
    diffs = [np.abs(a[t + 1].astype(int) - a[t]).mean() for t in range(11)]
    assert min(diffs) > 0.5
    assert max(diffs) < 40


def test_objects_occlude_background():
    with_obj = render_video(7, SMALL)
    no_obj = render_video(7, SceneConfig(height=48, width=64, num_frames=12,
                                         num_objects=0))
    # Camera/background are drawn from the same seed stream before the objects.
    changed = np.abs(with_obj[0].astype(int) - no_obj[0]).max(-1) > 0
    assert 0.05 < changed.mean() < 0.95


def test_texture_has_structure():
    tex = make_texture(np.random.default_rng(0), 40, 50)
    gy, gx = np.gradient(tex.astype(np.float32).mean(-1))
    assert tex.shape == (40, 50, 3)
    assert np.hypot(gx, gy).mean() > 2.0


def test_make_video_set_writes_decodable_videos_and_lists(tmp_path):
    out = str(tmp_path / 'videos')
    train_list, val_list = make_video_set(out, num_train=2, num_val=1, cfg=SMALL)
    lines = open(train_list).read().split('\n')
    assert lines[:2] == ['train/vid_000.mp4 0', 'train/vid_001.mp4 1'] or \
        lines[:2] == ['train/vid_000.avi 0', 'train/vid_001.avi 1']
    val = open(val_list).read().split()
    assert val[0].startswith('val/vid_000.') and val[1] == '0'
    path = osp.join(out, lines[0].split()[0])
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
    assert not [f for f in os.listdir(osp.join(out, 'train')) if f.startswith('.tmp')]
    # Skip-if-done: a second run keeps the existing files untouched.
    mtime = os.stat(path).st_mtime_ns
    make_video_set(out, num_train=2, num_val=1, cfg=SMALL)
    assert os.stat(path).st_mtime_ns == mtime
