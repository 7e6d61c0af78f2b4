"""Track format 2: seek reading, fixed-point bound, sweep tables, lengths cache."""
import os

import numpy as np
import pytest
import torch

import pico_mm.tracking.track_file as track_file
from pico_mm.tracking import (LooserThresholdError, TrackFileError,
                              TrackIndex, Tracks, anchor_sample, load_tracks,
                              open_tracks, random_sample, save_tracks,
                              track_video)
from pico_mm.tracking.track_format import (MEMBERS, SHIPPED_SWEEP,
                                           coord_scale, lengths_at)

torch.set_num_threads(1)


def _tracks(seed=0, n=500, t=40, h=48, w=64, noise=0.3):
    """Tracks on smooth random flow with noisy backward flow, extracted at
    the tool's (0.02, 1.0) so every shipped sweep point is stricter."""
    import cv2
    rng = np.random.default_rng(seed)
    fwd, bwd = [], []
    for _ in range(t - 1):
        f = cv2.resize(rng.normal(0, 1.5, (5, 7, 2)).astype(np.float32),
                       (w, h), interpolation=cv2.INTER_CUBIC)
        fwd.append(f)
        bwd.append(-f + rng.normal(0, noise, f.shape).astype(np.float32))
    meta = dict(source='v.mp4', fps=30, short_side=h, flow_path='v.zip')
    return track_video(lambda i: (fwd[i], bwd[i]), t, (h, w), n,
                       np.random.default_rng(seed), 0.02, 1.0, device='cpu',
                       meta=meta)


def _quantised(tracks):
    s = coord_scale(tracks.frame_size)
    return Tracks(tracks.start, tracks.length, tracks.stop,
                  np.rint(tracks.points * s) / s, tracks.terms,
                  tracks.num_frames, tracks.frame_size, dict(tracks.meta))


def test_fixed_point_error_bound():
    """|stored - float32| <= 0.5 / coord_scale px, <= 1/128 px up to 1024 px,
    over the whole frame including both borders."""
    assert coord_scale((1024, 1024)) == 64
    assert coord_scale((256, 340)) == 128 and coord_scale((256, 456)) == 128
    assert coord_scale((720, 1280)) == 32
    rng = np.random.default_rng(0)
    for h, w in ((256, 340), (1024, 1024), (48, 64), (2160, 3840)):
        s = coord_scale((h, w))
        n = 20000
        pts = np.stack([rng.uniform(0, w - 1, n), rng.uniform(0, h - 1, n)],
                       1).astype(np.float32)
        pts[:4] = [[0, 0], [w - 1, h - 1], [w - 1, 0], [0, h - 1]]
        tr = Tracks(np.zeros(n), np.ones(n), np.zeros(n), pts,
                    np.zeros((0, 2)), 1, (h, w), dict(alpha=0.02, beta=1.0))
        from pico_mm.tracking.track_format import decode_tracks, encode_tracks
        import io
        with np.load(io.BytesIO(encode_tracks(tr))) as z:
            back = decode_tracks({k: z[k] for k in z.files}).points
        err = np.abs(back - pts).max()
        assert err <= 0.5 / s
        if max(h, w) <= 1024:
            assert err <= 1 / 128
    with pytest.raises(ValueError, match='outside'):
        bad = Tracks([0], [1], [0], [[-1.0, 3.0]], np.zeros((0, 2)), 1,
                     (48, 64), dict(alpha=0.02, beta=1.0))
        save_tracks('/nonexistent/never_written.npz', bad)


def test_same_samples_as_the_whole_file(tmp_path):
    """From the same rng state, the seeking reader gives the frames, track
    ids and (fixed-point) points of the whole-file path, at every sweep
    point and at a non-shipped one."""
    tracks = _quantised(_tracks())
    old, new = str(tmp_path / 'old.npz'), str(tmp_path / 'new.npz')
    save_tracks(old, tracks, version=1)
    save_tracks(new, tracks)
    for ab in [(None, None)] + list(SHIPPED_SWEEP[1:]) + [(0.007, 0.4)]:
        ref = load_tracks(old, *ab)
        idx = open_tracks(new, *ab)
        assert isinstance(idx, TrackIndex)
        np.testing.assert_array_equal(idx.length, ref.length)
        assert idx.meta['alpha'] == ref.meta['alpha']
        for seed in range(25):
            for fn in (anchor_sample, random_sample):
                a = fn(ref, 4, np.random.default_rng(seed))
                b = fn(idx, 4, np.random.default_rng(seed))
                assert a.anchor == b.anchor
                np.testing.assert_array_equal(a.frames, b.frames)
                for x, y in zip(a.src + a.dst + a.track_ids,
                                b.src + b.dst + b.track_ids):
                    np.testing.assert_array_equal(x, y)
    assert isinstance(open_tracks(old), Tracks)  # format 1 still reads


def test_a_sample_reads_only_its_frames(tmp_path):
    """Bytes read = 1 KB + header + 6 bytes per track + 4 per frame + the
    rows of the two frames asked for, whatever the clip length."""
    reads = {}
    for t in (40, 160):
        tracks = _tracks(1, t=t)
        path = str(tmp_path / f'v{t}.npz')
        save_tracks(path, tracks)
        idx = TrackIndex(path, 0.01, 0.5)
        ids = np.flatnonzero((idx.start <= 5) & (idx.end >= 6))
        idx.positions(ids, 5)
        idx.positions(ids, 6)
        alive0 = [int(((tracks.start <= f) & (tracks.end >= f)).sum())
                  for f in (5, 6)]
        n = tracks.num_tracks
        lay = idx._layout
        head = int(lay[MEMBERS.index('frame_ptr')].sum()
                   - lay[MEMBERS.index('header'), 0])  # header..frame_ptr
        assert head - int(lay[MEMBERS.index('header'), 1]) < 2 * n + 4 * (
            t + 1) + 400  # start + frame_ptr + two npy/zip headers
        want = 1024 + head + 2 * 2 * n + 4 * sum(alive0)  # (0.01, 0.5): row 1
        assert idx.bytes_read == want, (idx.bytes_read, want)
        reads[t] = idx.bytes_read - 4 * sum(alive0)
        assert idx.bytes_read < os.path.getsize(path) / 4
    # 4x the frames: only the 4-byte frame pointers more (+ JSON digits)
    assert reads[160] - reads[40] <= 4 * 120 + 16


def test_lengths_at_matches_rethreshold():
    tracks = _tracks(2)
    for a, b in [(0.02, 1.0), (0.01, 0.5), (0.003, 0.2), (0.0, 0.0)]:
        np.testing.assert_array_equal(
            lengths_at(tracks.start, tracks.length, tracks.terms, a, b),
            tracks.rethreshold(a, b).length)


def test_rethreshold_cache_written_once(tmp_path, monkeypatch):
    """A shipped (alpha, beta) is read from the file; another one is computed
    from the whole file once, cached beside it (temp + rename), and then
    read from the cache."""
    path = str(tmp_path / 'v.npz')
    save_tracks(path, _tracks(3))
    loads = []
    real = track_file.load_tracks

    def counting(*args, **kw):
        loads.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(track_file, 'load_tracks', counting)
    for ab in SHIPPED_SWEEP:
        assert not TrackIndex(path, *ab).computed
    assert loads == [] and os.listdir(tmp_path) == ['v.npz']
    first = TrackIndex(path, 0.007, 0.4)
    assert first.computed and len(loads) == 1
    cached = sorted(os.listdir(tmp_path))
    assert len(cached) == 2 and cached[1].endswith('a0.007-b0.4.npy')
    for _ in range(3):
        again = TrackIndex(path, 0.007, 0.4)
        assert not again.computed
        np.testing.assert_array_equal(again.length, first.length)
    assert len(loads) == 1
    np.testing.assert_array_equal(
        first.length, real(path).rethreshold(0.007, 0.4).length)
    with pytest.raises(LooserThresholdError, match=r'v\.npz.*looser'):
        TrackIndex(path, 0.04, 0.5)


def test_converted_size_and_extra_sweep(tmp_path):
    """Format 2 stores 4 bytes per position (16-bit x, y, no track id) +
    4 per step + 2 per track and sweep point, against format 1's 8 + 4 +
    9 per track (0.77x here, 40 frames; less with longer tracks)."""
    tracks = _tracks(4, noise=0.05)  # long tracks
    v1, v2 = str(tmp_path / 'v1.npz'), str(tmp_path / 'v2.npz')
    save_tracks(v1, tracks, version=1)
    save_tracks(v2, tracks, sweep=[(0.007, 0.4)])
    n, big_l = tracks.num_tracks, int(tracks.length.sum())
    idx = TrackIndex(v2, 0.007, 0.4)
    assert not idx.computed and len(idx.header['sweep']) == 7
    with np.load(v2) as z:
        assert z['xy'].nbytes == 4 * big_l and z['xy'].dtype == np.uint16
        assert z['lengths'].shape == (7, n) and z['lengths'].itemsize == 2
        payload = sum(z[k].nbytes for k in z.files)
    assert os.path.getsize(v2) - payload < 4096  # zip + npy headers, JSON
    assert os.path.getsize(v2) < 0.8 * os.path.getsize(v1)


def test_corrupt_format2_is_one_line(tmp_path):
    good = str(tmp_path / 'good.npz')
    save_tracks(good, _tracks(5))
    data = open(good, 'rb').read()
    for name, blob in (('trunc.npz', data[:len(data) // 2]),
                       ('head.npz', data[:600])):
        path = str(tmp_path / name)
        open(path, 'wb').write(blob)
        with pytest.raises(TrackFileError) as e:
            idx = TrackIndex(path)
            for f in range(idx.num_frames):
                idx.positions(np.flatnonzero(
                    (idx.start <= f) & (idx.end >= f)), f)
        assert path in str(e.value) and '\n' not in str(e.value)
        assert 'track_points' in str(e.value)
