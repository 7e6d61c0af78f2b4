"""Track file round trip, re-thresholding and bad-file errors."""
import os

import numpy as np
import pytest
import torch

from pico_mm.tracking import (STOP_INCONSISTENT, LooserThresholdError,
                              TrackFileError, Tracks, load_tracks, save_tracks,
                              track_video)
from pico_mm.tracking.track_file import round_fp16
from pico_mm.tracking.track_format import coord_scale

torch.set_num_threads(1)


def _noisy_tracks(seed=0, n=400, t=25, h=40, w=56, scale=2.0, noise=0.3,
                  **track_kw):
    """Tracks on smooth random flow (std ``scale`` px) with backward flow
    noisy by ``noise`` px, so the consistency terms vary.

    ``track_kw`` (e.g. ``alpha``, ``beta``) go to ``track_video``.
    """
    rng = np.random.default_rng(seed)
    import cv2
    fwd, bwd = [], []
    for _ in range(t - 1):
        f = cv2.resize(rng.normal(0, scale, (5, 7, 2)).astype(np.float32),
                       (w, h), interpolation=cv2.INTER_CUBIC)
        b = -f + rng.normal(0, noise, f.shape).astype(np.float32)
        fwd.append(f)
        bwd.append(b)
    meta = dict(source='v.mp4', fps=30, short_side=h, flow_path='v.zip')
    return track_video(lambda i: (fwd[i], bwd[i]), t, (h, w), n,
                       np.random.default_rng(seed), device='cpu', meta=meta,
                       **track_kw)


@pytest.mark.parametrize('version', [1, 2])
def test_round_trip(tmp_path, version):
    tracks = _noisy_tracks()
    path = str(tmp_path / 'sub' / 'v.npz')
    save_tracks(path, tracks, version=version)
    assert os.listdir(tmp_path / 'sub') == ['v.npz']  # no temp file left
    loaded = load_tracks(path)
    for key in ('start', 'length', 'stop', 'terms'):
        np.testing.assert_array_equal(getattr(loaded, key),
                                      getattr(tracks, key))
    # format 1 keeps float32; format 2 the positions rounded to the nearest
    # 1/coord_scale px (1/1024 px here, 40x56 frames)
    scale = 1 if version == 1 else coord_scale(tracks.frame_size)
    want = (tracks.points if version == 1 else
            np.rint(tracks.points * scale) / scale)
    assert version == 1 or scale == 1024
    np.testing.assert_array_equal(loaded.points, want)
    assert loaded.frame_size == (40, 56) and loaded.num_frames == 25
    for key in ('source', 'fps', 'short_side', 'flow_path', 'alpha', 'beta',
                'motion_boundary'):
        assert loaded.meta[key] == tracks.meta[key]
    xy, alive = loaded.xy, loaded.alive
    assert xy.shape == (400, 25, 2) and xy.dtype == np.float32
    assert alive.shape == (400, 25) and alive.dtype == bool
    assert np.array_equal(np.isnan(xy[..., 0]), ~alive)
    assert np.array_equal(alive.sum(1), loaded.length)
    # contiguous runs: exactly one rising edge per track
    edges = np.diff(np.pad(alive.astype(np.int8), ((0, 0), (1, 0))), axis=1)
    assert np.all((edges == 1).sum(1) == 1)
    # variety: some tracks must have stopped, some survived several frames
    assert np.any(loaded.stop == STOP_INCONSISTENT)
    assert loaded.length.max() > 5


@pytest.mark.parametrize('version', [1, 2])
def test_rethreshold_only_shortens(tmp_path, version):
    path = str(tmp_path / 'v.npz')
    save_tracks(path, _noisy_tracks(1), version=version)
    tracks = load_tracks(path)  # what the file holds
    same = load_tracks(path, alpha=0.01, beta=0.5)
    np.testing.assert_array_equal(same.length, tracks.length)
    for alpha, beta in [(0.5, 5.0), (0.02, 0.5), (0.01, 1.0)]:
        with pytest.raises(LooserThresholdError, match=r'v\.npz.*looser.*'
                           r'--alpha .* --beta'):
            load_tracks(path, alpha=alpha, beta=beta)
    shorter_total = []
    for alpha, beta in [(0.01, 0.3), (0.005, 0.5), (0.0, 0.1), (0.01, 0.0)]:
        strict = load_tracks(path, alpha=alpha, beta=beta)
        assert strict.meta['alpha'] == alpha and strict.meta['beta'] == beta
        assert np.all(strict.start == tracks.start)
        assert np.all(strict.length <= tracks.length)
        assert np.all(strict.length >= 1)
        cut = strict.length < tracks.length
        assert np.all(strict.stop[cut] == STOP_INCONSISTENT)
        # kept positions are the original ones, dropped ones are NaN
        a_old, a_new = tracks.alive, strict.alive
        assert not np.any(a_new & ~a_old)
        np.testing.assert_array_equal(strict.xy[a_new], tracks.xy[a_new])
        assert np.all(np.isnan(strict.xy[~a_new]))
        shorter_total.append(int(tracks.length.sum() - strict.length.sum()))
    assert all(s > 0 for s in shorter_total)  # every stricter setting cut
    # beta = 0 with alpha = 0 forbids everything but perfect steps
    assert np.all(load_tracks(path, alpha=0.0, beta=0.0).length == 1)


def test_rethreshold_agrees_with_tracking_strictly():
    """Cutting stored tracks at (a, b) == tracking afresh at (a, b)."""
    loose = _noisy_tracks(2)
    strict = _noisy_tracks(2, alpha=0.005, beta=0.3)
    cut = loose.rethreshold(0.005, 0.3)
    # once cut, the cut tracks cannot be loosened back either
    with pytest.raises(LooserThresholdError, match='already cut'):
        cut.rethreshold(0.01, 0.3)
    assert cut.meta['extraction_alpha'] == 0.01
    # fp16 terms may differ from fp32 in rare ties; allow a tiny fraction
    assert np.mean(cut.length == strict.length) > 0.99


def test_one_store_gives_every_sweep_point(tmp_path):
    """Tracks extracted at the tool's defaults serve the whole alpha sweep.

    alpha = 0.02 (the loosest shipped ablation) must give strictly longer
    tracks than 0.01 and 0.005 strictly shorter, all from one file; before
    the fix a looser request silently returned the extraction tracks.
    """
    from pico_test_tools import ROOT, ToolRunner
    tool = ToolRunner(os.path.join(ROOT, 'tools/data/track_points.py'),
                      'track_points_sweep')
    args = tool.module.parse_args(['flow', 'out'])
    assert (args.alpha, args.beta) == (0.02, 1.0)  # loosest shipped point
    tracks = _noisy_tracks(5, n=600, scale=3.0, noise=0.4, alpha=args.alpha,
                           beta=args.beta)
    path = str(tmp_path / 'v.npz')
    save_tracks(path, tracks)
    mean_len = {a: load_tracks(path, alpha=a, beta=0.5).length.mean()
                for a in (0.02, 0.01, 0.005)}
    assert mean_len[0.02] > mean_len[0.01] > mean_len[0.005], mean_len
    assert load_tracks(path, alpha=0.01, beta=0.5).meta['alpha'] == 0.01
    with pytest.raises(LooserThresholdError):
        load_tracks(path, alpha=0.04)


def test_round_fp16_directions():
    x = np.float32([0.1, 1 / 3, 123.456, 7e4, 0.0])
    down, up = round_fp16(x, 'down'), round_fp16(x, 'up')
    assert down.dtype == np.float16 and up.dtype == np.float16
    assert np.all(down.astype(np.float32) <= x)
    assert np.all(up.astype(np.float32) >= x)
    assert np.isinf(up[3]) and np.isfinite(down[3])
    # the tracker's torch version gives the same bits
    from pico_mm.tracking.tracker import round_terms_fp16
    rng = np.random.default_rng(0)
    vals = np.concatenate([x, rng.uniform(0, 100, 10000).astype(np.float32),
                           rng.uniform(0, 7e4, 1000).astype(np.float32)])
    both = round_terms_fp16(torch.from_numpy(np.stack([vals, vals]))).numpy()
    np.testing.assert_array_equal(both[0].view(np.uint16),
                                  round_fp16(vals, 'down').view(np.uint16))
    np.testing.assert_array_equal(both[1].view(np.uint16),
                                  round_fp16(vals, 'up').view(np.uint16))


@pytest.mark.parametrize('version', [1, 2])
def test_bad_files(tmp_path, version):
    tracks = _noisy_tracks()
    good = str(tmp_path / 'good.npz')
    save_tracks(good, tracks, version=version)
    data = open(good, 'rb').read()
    trunc = str(tmp_path / 'trunc.npz')
    with open(trunc, 'wb') as f:
        f.write(data[:len(data) // 2])
    garbage = str(tmp_path / 'garbage.npz')
    with open(garbage, 'wb') as f:
        f.write(b'not a zip at all' * 10)
    foreign = str(tmp_path / 'foreign.npz')
    np.savez(foreign, a=np.zeros(3))
    for path in (trunc, garbage, foreign, str(tmp_path / 'missing.npz')):
        with pytest.raises(TrackFileError) as e:
            load_tracks(path)
        msg = str(e.value)
        assert path in msg and 'track_points' in msg
        assert '\n' not in msg


def test_tracks_validation_and_positions():
    tr = Tracks(start=[0, 2], length=[3, 2], stop=[0, 0],
                points=[[0, 0], [1, 0], [2, 0], [5, 5], [6, 6]],
                terms=np.zeros((3, 2)), num_frames=4, frame_size=(8, 8),
                meta=dict(alpha=0.01, beta=0.5))
    np.testing.assert_array_equal(tr.end, [2, 3])
    np.testing.assert_array_equal(tr.positions([0, 1], 2), [[2, 0], [5, 5]])
    with pytest.raises(ValueError):
        tr.positions([1], 0)
    with pytest.raises(ValueError):
        Tracks(start=[0], length=[5], stop=[0], points=np.zeros((5, 2)),
               terms=np.zeros((4, 2)), num_frames=4, frame_size=(8, 8))
    with pytest.raises(ValueError):
        Tracks(start=[0], length=[2], stop=[0], points=np.zeros((2, 2)),
               terms=np.zeros((2, 2)), num_frames=4, frame_size=(8, 8))
