"""Track drawing (pico_mm.tracking.visualize) and tools/vis/show_tracks.py."""
import os
import os.path as osp

import cv2
import numpy as np
import torch

from pico_mm.tracking import (STOP_END, STOP_INCONSISTENT, STOP_LEFT, Tracks,
                              save_tracks, track_video)
from pico_mm.tracking.synthetic import occlusion_video
from pico_mm.tracking.visualize import draw_frame, track_colors
from pico_test_tools import ToolRunner

torch.set_num_threads(1)
ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'vis', 'show_tracks.py')
MOD_NAME = 'show_tracks_tool'


def _one_track(stop):
    # a track moving right 2 px/frame on frames 0..3, then stopping
    pts = np.float32([[4, 10], [6, 10], [8, 10], [10, 10]])
    return Tracks([0], [4], [stop], pts, np.zeros((3, 2)), 12, (20, 30),
                  dict(alpha=0.01, beta=0.5))


def test_draw_frame_dot_tail_and_stop_marker():
    blank = np.zeros((20, 30, 3), np.uint8)
    tr = _one_track(STOP_INCONSISTENT)
    color = track_colors(1)[0].astype(int)
    img = draw_frame(blank, tr, 3, np.array([0]), track_colors(1), tail=4)
    assert img.shape == (20, 30, 3)
    # live dot at (10, 10) in the track's colour (newest layer, full weight)
    assert np.abs(img[10, 10].astype(int) - color).max() <= 40
    assert img[10, 5].max() > 0  # tail behind the point
    assert img[3:8, 20:].max() == 0  # nothing elsewhere
    # after the stop: an 'x' at the last position, fading, then gone
    later = draw_frame(blank, tr, 5, np.array([0]), track_colors(1), tail=4)
    assert later[8, 8].max() > 0 and later[12, 12].max() > 0  # x arms
    assert later[8, 8].max() < img[10, 10].max()  # faded
    gone = draw_frame(blank, tr, 9, np.array([0]), track_colors(1), tail=4)
    assert gone.max() == 0
    # a track alive to the end gets no marker; one that left gets a square
    end = draw_frame(blank, _one_track(STOP_END), 5, np.array([0]),
                     track_colors(1), tail=4)
    assert end[8, 8].max() == 0 and end[12, 12].max() == 0
    left = draw_frame(blank, _one_track(STOP_LEFT), 5, np.array([0]),
                      track_colors(1), tail=4)
    # square edge at x = 14 (half size 4 px); the x has no pixel there
    assert left[10, 14].max() > 0 and later[10, 14].max() == 0
    assert left[12, 12].max() == 0  # no x arms for a track that left
    big = draw_frame(blank, tr, 3, np.array([0]), track_colors(1), tail=4,
                     scale=2)
    assert big.shape == (40, 60, 3)


def _make_video(root):
    h, w, t = 48, 64, 12
    frames, fwd, bwd, _ = occlusion_video(h, w, t, 14, 0, 16, 2)
    raw = osp.join(root, 'raw', 'vid')
    os.makedirs(raw)
    for i, fr in enumerate(frames):
        cv2.imwrite(osp.join(raw, f'img_{i + 1:05d}.jpg'), fr)
    meta = dict(source=raw, fps=30, short_side=h, flow_path='none.zip')
    tracks = track_video(lambda i: (fwd[i], bwd[i]), t, (h, w), 200,
                         np.random.default_rng(0), device='cpu', meta=meta)
    path = osp.join(root, 'vid.npz')
    save_tracks(path, tracks)
    return path, frames


_RUNNER = ToolRunner(TOOL, MOD_NAME)
TOOL_MOD = _RUNNER.module
_run = _RUNNER.run
_run_script = _RUNNER.run_script


def test_show_tracks_tool(tmp_path):
    from PIL import Image
    path, frames = _make_video(str(tmp_path))
    png, gif, mp4 = (str(tmp_path / f'o.{e}') for e in ('png', 'gif', 'mp4'))
    res = _run_script(path, png, '--frame', '5', '--scale', '1')
    assert res.returncode == 0, res.stderr
    img = cv2.imread(png)
    assert img.shape == (48, 64, 3)
    # the background video is there (dimmed) under the drawing
    diff = np.abs(img.astype(int) - (frames[5] * 0.75).astype(int))
    assert np.median(diff) < 20
    res = _run(path, gif, '--frames', '2:10', '--max-tracks', '50')
    assert res.returncode == 0, res.stderr
    assert 'wrote' in res.stdout
    with Image.open(gif) as g:
        assert g.n_frames == 8 and g.size == (128, 96)
    res = _run(path, mp4, '--scale', '1')
    assert res.returncode == 0, res.stderr
    cap = cv2.VideoCapture(mp4)
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]


def test_show_tracks_errors(tmp_path):
    path, _ = _make_video(str(tmp_path))
    import shutil
    shutil.rmtree(tmp_path / 'raw')
    out = str(tmp_path / 'x.png')
    res = _run(path, out)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith('error')]
    assert res.returncode == 2 and len(errors) == 1 and '--source' in errors[0]
    res = _run(path, out, '--blank')
    assert res.returncode == 0 and osp.isfile(out)
    bad = str(tmp_path / 'bad.npz')
    with open(bad, 'wb') as f:
        f.write(open(path, 'rb').read()[:100])
    res = _run(bad, out)
    assert res.returncode == 2 and 'bad.npz' in res.stderr
    assert 'track_points' in res.stderr
    res = _run(path, str(tmp_path / 'x.jpg'))
    assert res.returncode == 2 and '.gif' in res.stderr
