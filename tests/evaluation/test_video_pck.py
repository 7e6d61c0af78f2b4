"""Video PCK@1 (the pre-registered primary metric) on rendered clips."""
import numpy as np
import torch

from pico_mm.evaluation.davis_layout import ClipTracks
from pico_mm.evaluation.video_pck import clip_video_pck


def _tracks(num_frames, pts0, shift):
    """Points on frames 0 and 10 of content translating by `shift` px per frame."""
    q, tr = [], []
    for t0 in (0, 10):
        for p in pts0:
            q.append(t0)
            tr.append([(p[0] + shift * t, p[1]) for t in range(num_frames)])
    tr = np.asarray(tr, np.float32)
    vis = np.ones(tr.shape[:2], bool)
    return ClipTracks(np.asarray(q), tr, vis, np.ones(len(q), np.uint8))


def _oracle_feats(num_frames, h, w, shift, stride=4):
    """Features = one-hot of the content's position (moves with the content)."""
    feats = torch.zeros(num_frames, h * w, h, w)
    for t in range(num_frames):
        for y in range(h):
            for x in range(w):
                content_x = x - round(shift * t / stride)
                if 0 <= content_x < w:
                    feats[t, y * w + content_x, y, x] = 1
    return feats


def test_video_pck_counts_gaps_and_scores_oracle_and_still_features():
    T, h, w, shift = 40, 4, 24, 2.0  # 2 px/frame: whole cells on every frame used
    pts0 = [(x * 4 + 1.5, y * 4 + 1.5) for y in range(h) for x in range(4)]
    tracks = _tracks(T, pts0, shift)
    res = clip_video_pck(_oracle_feats(T, h, w, shift), tracks, (16, 96))
    # query frames 0 and 10; gaps 8, 16, 32 -> pairs (0,8) (0,16) (0,32) (10,18)
    # (10,26); (10,42) is past the end. Every point moved > 1 cell (4 px).
    assert res['per_gap'] == {8: [32, 32], 16: [32, 32], 32: [16, 16]}
    assert res['hits'] == res['points'] == 80 and res['still'] == 0
    still = torch.zeros(T, h * w, h, w)
    for y in range(h):
        for x in range(w):
            still[:, y * w + x, y, x] = 1  # position-only features
    res0 = clip_video_pck(still, tracks, (16, 96))
    assert res0['points'] == 80 and res0['hits'] == res0['still'] == 0


def test_video_pck_ignores_points_that_did_not_move():
    T = 20
    tracks = _tracks(T, [(5.5, 5.5)], 0.0)
    res = clip_video_pck(torch.rand(T, 8, 4, 6), tracks, (16, 24))
    assert res['points'] == 0 and res['hits'] == 0


def test_video_pck_on_a_rendered_folder(tmp_path):
    import subprocess
    import sys

    import torch.nn.functional as F

    from pico_mm.evaluation.video_pck import video_pck
    root = tmp_path / 'r'
    proc = subprocess.run(
        [sys.executable, 'tools/data/render_clips.py', str(root), '--splits',
         'test', '--clips', '1', '--size', '32', '48', '--frames', '20'],
        text=True, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]

    def embed(x):  # colour of 4×4 cells: a real, imperfect feature
        return F.avg_pool2d(x.float(), 4)

    res = video_pck(embed, str(root), 'test')
    assert set(res['clips']) == {'test_000'} and res['points'] > 0
    assert res['per_gap'].keys() == {8, 16, 32}
    assert res['per_gap'][32] != res['per_gap'][32]  # NaN: no pair fits 20 frames
    assert 0 <= res['chance'] < res['acc'] <= 1
    again = video_pck(embed, str(root), 'test')  # deterministic
    assert (again['acc'], again['clips']) == (res['acc'], res['clips'])
