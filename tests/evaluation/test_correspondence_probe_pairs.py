"""Probe items built from track files + the video they came from."""
import numpy as np
import pytest

from pico_mm.demo.synthetic import SceneConfig, render_video, write_video
from pico_mm.evaluation.correspondence_probe import probe_pairs_from_tracks
from pico_mm.flow import load_frames
from pico_mm.tracking import Tracks, save_tracks


def _tracks(video, num_frames, frame_size):
    """Three hand-made tracks: frames 0-11, 2-7, 5-6 moving by (1, 0.5)/frame."""
    runs = [(0, 12), (2, 6), (5, 2)]
    points, terms = [], []
    for i, (s, n) in enumerate(runs):
        t = np.arange(s, s + n, dtype=np.float32)
        points.append(np.stack([10 + 5 * i + t, 8 + 0.5 * t], 1))
        terms.append(np.zeros((n - 1, 2), np.float16))
    return Tracks(start=[r[0] for r in runs], length=[r[1] for r in runs],
                  stop=[0, 2, 2], points=np.concatenate(points),
                  terms=np.concatenate(terms), num_frames=num_frames,
                  frame_size=frame_size,
                  meta=dict(source=video, fps=30, short_side=None, alpha=0.01,
                            beta=0.5))


@pytest.fixture()
def track_file(tmp_path):
    cfg = SceneConfig(height=48, width=64, num_frames=12, num_objects=1)
    video = write_video(render_video(1, cfg), str(tmp_path / 'v'), cfg.fps)
    path = str(tmp_path / 'tracks' / 'v.npz')
    save_tracks(path, _tracks(video, 12, (48, 64)))
    return path, video


def test_pairs_points_and_frames(track_file):
    path, video = track_file
    pairs = probe_pairs_from_tracks([path], gap=2, pairs_per_video=4,
                                    points_per_pair=10)
    # Sources spread over [0, 12-1-2] -> frames 0, 3, 6, 9; targets 2 later.
    # Track 1 (frames 2-7) is on both 3 and 5 only; track 2 (5-6) never.
    assert len(pairs) == 4
    frames = load_frames(video, None, fps=30, short_side=None)
    expect_ids = {0: [0], 3: [0, 1], 6: [0], 9: [0]}
    for p, a in zip(pairs, (0, 3, 6, 9)):
        assert np.array_equal(p.frame_a, frames[a])
        assert np.array_equal(p.frame_b, frames[a + 2])
        ids = expect_ids[a]
        assert p.src.shape == (len(ids), 2) and p.src.dtype == np.float32
        assert np.allclose(p.dst - p.src, [[2.0, 1.0]] * len(ids))
        assert np.allclose(p.src[:, 0], [10 + 5 * i + a for i in ids])


def test_pairs_subsample_deterministic_and_relative_source(track_file, tmp_path):
    path, video = track_file
    a = probe_pairs_from_tracks([path], gap=1, pairs_per_video=12,
                                points_per_pair=1, seed=3)
    b = probe_pairs_from_tracks([path], gap=1, pairs_per_video=12,
                                points_per_pair=1, seed=3)
    assert len(a) == 11 and all(len(p.src) == 1 for p in a)
    assert all(np.array_equal(x.src, y.src) for x, y in zip(a, b))
    # A relative source path is resolved against source_root.
    import os.path as osp
    from pico_mm.tracking import load_tracks
    tr = load_tracks(path)
    tr.meta['source'] = osp.basename(video)
    rel = str(tmp_path / 'tracks' / 'rel.npz')
    save_tracks(rel, tr)
    c = probe_pairs_from_tracks([rel], gap=1, pairs_per_video=2,
                                source_root=osp.dirname(video))
    assert len(c) == 2
