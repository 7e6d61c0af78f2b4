"""Tracker accuracy on synthetic videos with exact ground-truth flow."""
import numpy as np
import pytest
import torch

from pico_mm.flow import FlowReader, FlowStoreWriter
from pico_mm.tracking import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                              STOP_MOTION_BOUNDARY, STOP_SATURATED,
                              PointTracker, sample_seeds, track_video)
from pico_mm.tracking.flow_feed import FlowPair
from pico_mm.tracking.geometry import sample_points
from pico_mm.tracking.synthetic import (affine_video, apply_map,
                                        motion_matrix, occlusion_video,
                                        textured_image)
from pico_mm.tracking.tracker import SATURATION_MARGIN

torch.set_num_threads(1)
H, W, T = 96, 128, 31
CENTRE = ((W - 1) / 2, (H - 1) / 2)
MOTIONS = {
    'translation': motion_matrix(shift=(1.0, -0.6)),
    'subpixel': motion_matrix(shift=(0.137, 0.071)),
    'rotation': motion_matrix(angle_deg=0.6, centre=CENTRE),
    'zoom': motion_matrix(scale=1.01, centre=CENTRE),
    'combined': motion_matrix((0.37, -0.21), 0.5, 0.995, CENTRE),
}


def _seeds(n=60, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform([34, 26], [W - 35, H - 27], (n, 2)).astype(np.float32)
    return np.zeros(n, np.int64), xy


def _track(fwd, bwd, start, xy, **kw):
    tracker = PointTracker(device='cpu', **kw)
    return tracker.track(lambda t: (fwd[t], bwd[t]), len(fwd) + 1, (H, W),
                         start, xy)


@pytest.mark.parametrize('name', sorted(MOTIONS))
def test_gt_flow_tracks_within_005px(name):
    _, fwd, bwd, maps = affine_video(textured_image(H, W), MOTIONS[name], T)
    start, xy = _seeds()
    tracks = _track(fwd, bwd, start, xy)
    assert np.all(tracks.stop == STOP_END)
    assert np.all(tracks.length == T)
    err = np.linalg.norm(tracks.xy[:, T - 1] - apply_map(maps[T - 1], xy), axis=1)
    assert err.max() < 0.05, (name, err.max())
    # the motion must be large enough for the test to mean something
    assert np.linalg.norm(apply_map(maps[T - 1], xy) - xy, axis=1).max() > 2


def _varying_motion(name, seed=0):
    """Per-frame varying motion (hand-held camera): T-1 step matrices."""
    rng = np.random.default_rng(seed)

    def shake():
        return rng.uniform(-0.6, 0.6, 2)

    make = {
        'translation': lambda: motion_matrix(
            shift=rng.uniform([0.3, -0.8], [1.2, 0.2])),
        'subpixel': lambda: motion_matrix(shift=rng.uniform(-0.3, 0.3, 2)),
        'rotation': lambda: motion_matrix(shake(), rng.uniform(0.2, 0.8),
                                          1.0, CENTRE),
        'zoom': lambda: motion_matrix(shake(), 0.0, rng.uniform(1.0, 1.02),
                                      CENTRE),
    }[name]
    return [make() for _ in range(T - 1)]


def _store_track_error(tmp_path, steps, dither=True):
    """End-point errors (px) of 60 tracks driven by flow read from the store."""
    _, fwd, bwd, maps = affine_video(textured_image(H, W), steps, T)
    path = str(tmp_path / 'v.zip')
    with FlowStoreWriter(path, bound=20, quality=95, dither=dither) as w:
        for f, b in zip(fwd, bwd):
            w.add_pair(f, b)
        w.finish(fps=30, short_side=H, source='synthetic', source_kind='video')
    start, xy = _seeds()
    with FlowReader(path) as reader:
        tracker = PointTracker(device='cpu')
        tracks = tracker.track(reader.read, reader.num_frames,
                               reader.frame_size, start, xy)
    assert np.all(tracks.length == T)
    return np.linalg.norm(
        tracks.xy[:, T - 1] - apply_map(maps[T - 1], xy), axis=1)


@pytest.mark.parametrize('name', sorted(MOTIONS))
def test_jpeg_store_flow_tracks_within_05px(tmp_path, name):
    # steady motion: the same flow every frame (the hard case for rounding)
    err = _store_track_error(tmp_path, MOTIONS[name])
    assert err.max() < 0.5, (name, err.mean(), err.max())


@pytest.mark.parametrize('name', ['translation', 'subpixel', 'rotation',
                                  'zoom'])
def test_jpeg_store_varying_motion_tracks_within_05px_on_average(tmp_path,
                                                               name):
    """Frame-to-frame varying motion: per-step rounding errors are independent
    and add up as a random walk (~0.157 px / sqrt(12) per step and component),
    which no unbiased 8-bit code removes; the mean stays within 0.5 px
    (measured over 5 seeds: mean <= 0.39 px, max <= 0.82 px)."""
    err = _store_track_error(tmp_path, _varying_motion(name))
    assert err.mean() < 0.5, (name, err.mean(), err.max())
    assert err.max() < 1.0, (name, err.mean(), err.max())


def test_store_without_dither_drifts_under_steady_pan(tmp_path):
    """What the temporal dither fixes: identical rounding every frame."""
    err = _store_track_error(tmp_path, MOTIONS['translation'], dither=False)
    assert err.min() > 1.0, err.min()


def _band_pan_store(tmp_path, fast=30.0, slow=3.0, h=64, w=256, t=8):
    """Store of a pan: rows y < h/2 move ``fast`` px/frame, the rest ``slow``.

    Returns the store path and the true per-step x displacement of a row.
    """
    fwd = np.zeros((h, w, 2), np.float32)
    fwd[:h // 2, :, 0], fwd[h // 2:, :, 0] = fast, slow
    path = str(tmp_path / 'pan.zip')
    with FlowStoreWriter(path, bound=20, quality=95) as wr:
        for _ in range(t - 1):
            wr.add_pair(fwd, -fwd)  # motion along x: bwd rows match fwd rows
        wr.finish(fps=30, short_side=h, source='synthetic', source_kind='video')
    return path, (lambda y: np.where(y < h / 2 - 0.5, fast, slow))


def _accepted_step_errors(tracks, true_dx):
    """|error| (px) of every step a track took, and the step's row."""
    xy, alive = tracks.xy, tracks.alive
    step = alive[:, 1:] & alive[:, :-1]
    dx = xy[:, 1:, 0] - xy[:, :-1, 0]
    dy = xy[:, 1:, 1] - xy[:, :-1, 1]
    y0 = xy[:, :-1, 1]
    err = np.hypot(dx - true_dx(y0), dy)
    return err[step], y0[step]


def test_saturated_flow_stops_tracks(tmp_path):
    """A 30 px/frame pan through a B = 20 store: +20 forward and -20
    backward cancel, so the consistency test passes; the saturation stop
    must reject every such step, and leave the 3 px/frame half alone."""
    path, true_dx = _band_pan_store(tmp_path)
    rng = np.random.default_rng(0)
    xy = np.stack([rng.uniform(0, 120, 400), rng.uniform(0, 63, 400)],
                  1).astype(np.float32)
    start = np.zeros(400, np.int64)
    with FlowReader(path) as reader:
        tracks = PointTracker(device='cpu', saturation_bound=reader.bound
                              ).track(reader.read, reader.num_frames,
                                      reader.frame_size, start, xy)
        unguarded = PointTracker(device='cpu').track(
            reader.read, reader.num_frames, reader.frame_size, start, xy)
    err, y = _accepted_step_errors(tracks, true_dx)
    assert err.size > 0 and err.max() < 1.0, err.max()
    top = xy[:, 1] < 31
    assert np.all(tracks.stop[top] == STOP_SATURATED)
    assert np.all(tracks.length[top] == 1)
    bottom = xy[:, 1] > 33  # 3 px/frame: well inside the bound, kept
    assert np.all(tracks.length[bottom] == reader.num_frames)
    assert tracks.meta['saturation_bound'] == 20.0
    # without the guard the clipped steps pass and fall 10 px behind
    err_u, _ = _accepted_step_errors(unguarded, true_dx)
    assert err_u.max() > 9.0
    assert not np.any(unguarded.stop == STOP_SATURATED)


def test_track_points_summary_counts_saturated(tmp_path):
    from pico_test_tools import ROOT, ToolRunner
    path, _ = _band_pan_store(tmp_path)
    tool = ToolRunner(f'{ROOT}/tools/data/track_points.py', 'track_points_sat',
                      ['--no-progress', '--points', '300',
                       '--track-device', 'cpu'])
    res = tool.run(path, str(tmp_path / 'tracks'))
    assert res.returncode == 0, res.stderr
    line = [ln for ln in res.stdout.splitlines()
            if ln.startswith('track stops:')][0]
    import re
    sat = int(re.search(r'saturated (\d+)', line).group(1))
    assert sat > 50, line


def test_point_leaving_image_stops_inside():
    fwd = [np.tile(np.float32([3.0, 0.0]), (H, W, 1))] * 40
    bwd = [-f for f in fwd]
    xy = np.float32([[W - 10.5, 40.0], [5.0, 50.0]])
    tracks = _track(fwd, bwd, np.zeros(2, np.int64), xy)
    assert tracks.stop[0] == STOP_LEFT
    last = tracks.xy[0, tracks.end[0]]
    assert last[0] <= W - 1 and last[0] + 3 > W - 1
    assert tracks.length[0] == 4  # x: 117.5, 120.5, 123.5, 126.5 -> 129.5 out
    assert np.all(np.isnan(tracks.xy[0, 4:]))
    assert tracks.stop[1] == STOP_END and tracks.end[1] == 40  # x = 125


def _first_covered(covered, x, y):
    r, c = int(round(y)), int(round(x))
    hits = [t for t, m in enumerate(covered) if m[r, c]]
    return hits[0] if hits else None


def test_occlusion_stops_covered_points_and_keeps_others():
    h, w, t, side, speed = 64, 96, 20, 16, 3
    frames, fwd, bwd, covered = occlusion_video(h, w, t, side, 0, 24, speed)
    rng = np.random.default_rng(1)
    band = np.stack([rng.uniform(20, 60, 80), rng.uniform(26, 38, 80)], 1)
    free = np.stack([rng.uniform(0, w - 1, 80),
                     np.concatenate([rng.uniform(0, 20, 40),
                                     rng.uniform(43, h - 1, 40)])], 1)
    fg = np.stack([rng.uniform(3, side - 4, 20), rng.uniform(27, 36, 20)], 1)
    xy = np.concatenate([band, free, fg]).astype(np.float32)
    tracker = PointTracker(device='cpu')
    tracks = tracker.track(lambda i: (fwd[i], bwd[i]), t, (h, w),
                           np.zeros(len(xy), np.int64), xy)
    for i in range(80):  # background points the square slides over
        cov = _first_covered(covered, *band[i])
        assert cov is not None
        assert tracks.stop[i] == STOP_INCONSISTENT
        assert cov - 2 <= tracks.end[i] <= cov + 1, (i, cov, tracks.end[i])
    assert np.all(tracks.stop[80:160] == STOP_END)  # never covered
    assert np.all(tracks.length[80:160] == t)
    assert np.all(tracks.stop[160:] == STOP_END)  # ride on the square
    np.testing.assert_allclose(tracks.xy[160:, t - 1, 0],
                               fg[:, 0] + speed * (t - 1), atol=1e-4)


def test_motion_boundary_flag():
    h, w, t = 64, 96, 12
    _, fwd, bwd, _ = occlusion_video(h, w, t, 16, 0, 24, 3)
    rng = np.random.default_rng(2)
    xy = np.stack([rng.uniform(0, w - 1, 400), rng.uniform(0, h - 1, 400)],
                  1).astype(np.float32)
    start = np.zeros(400, np.int64)
    plain = PointTracker(device='cpu').track(lambda i: (fwd[i], bwd[i]), t,
                                             (h, w), start, xy)
    mb = PointTracker(device='cpu', motion_boundary=True).track(
        lambda i: (fwd[i], bwd[i]), t, (h, w), start, xy)
    assert not np.any(plain.stop == STOP_MOTION_BOUNDARY)
    assert np.sum(mb.stop == STOP_MOTION_BOUNDARY) > 0
    assert np.all(mb.length <= plain.length)
    assert mb.meta['motion_boundary'] and not plain.meta['motion_boundary']
    # smooth (affine) motion never trips the motion-boundary test
    _, fwd2, bwd2, _ = affine_video(textured_image(H, W), MOTIONS['combined'],
                                    T)
    s, p = _seeds()
    smooth = _track(fwd2, bwd2, s, p, motion_boundary=True)
    assert np.all(smooth.stop == STOP_END)


def test_seeds_uniform_and_reproducible():
    _, fwd, bwd, _ = affine_video(textured_image(H, W), MOTIONS['subpixel'],
                                  T)

    def run(seed):
        return track_video(lambda t: (fwd[t], bwd[t]), T, (H, W), 3000,
                           np.random.default_rng(seed), device='cpu')

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.start, b.start)
    assert not np.array_equal(a.start, c.start)
    assert a.start.min() == 0 and a.start.max() == T - 2
    # roughly uniform start frames: each third of the video gets ~1/3
    thirds = np.bincount(a.start * 3 // (T - 1), minlength=3)
    assert np.all(np.abs(thirds / 3000 - 1 / 3) < 0.05)
    first = a.points[np.cumsum(a.length) - a.length]
    assert first[:, 0].min() >= 0 and first[:, 0].max() <= W - 1
    assert abs(first[:, 0].mean() - (W - 1) / 2) < 3
    assert a.meta['num_points'] == 3000 and a.meta['alpha'] == 0.01


def _zoom_burst_store(tmp_path, seed=0, h=48, w=80, t=24):
    """Hand-held motion with a fast zoom-out every 5th step: its flow clips
    (> 20 px) near the left and right borders only, the other steps
    nowhere; noisy backward flow in a block (an occluder) makes points
    there inconsistent."""
    rng = np.random.default_rng(seed)
    centre = ((w - 1) / 2, (h - 1) / 2)
    steps = [motion_matrix(rng.uniform(-1, 1, 2), rng.uniform(-0.5, 0.5),
                           0.4 if i % 5 == 3 else rng.uniform(0.99, 1.01),
                           centre) for i in range(t - 1)]
    _, fwd, bwd, _ = affine_video(textured_image(h, w), steps, t)
    path = str(tmp_path / f'zoom{seed}.zip')
    with FlowStoreWriter(path, bound=20, quality=95) as wr:
        for f, b in zip(fwd, bwd):
            b = b.copy()
            b[8:24, 30:50] += rng.normal(0, 2, (16, 20, 2)).astype(np.float32)
            wr.add_pair(f, b)
        wr.finish(fps=30, short_side=h, source='synthetic', source_kind='video')
    return path


class _DenseMaskTracker(PointTracker):
    """The saturation stop as the code before the fast path computed it:
    every frame, a dense clip mask of each field, sampled in a grid_sample
    call of its own (the reference for bit-identity); the rest of the step
    is the tracker's own, run without masks."""

    def _step(self, pair, pos, size, params):
        plain = FlowPair(pair.fwd, pair.bwd, None, None)
        new, ok, terms, (inside, consistent, none) = super()._step(
            plain, pos, size, params)
        assert none is None
        saturated = torch.zeros_like(pos[0], dtype=torch.bool)
        for field, at in ((pair.fwd, pos), (pair.bwd, new)):
            mask = (field.abs() >= self.sat_level).any(1, keepdim=True)
            saturated |= sample_points(mask.float(), at, size, params)[0] > 0
        return new, ok & ~saturated, terms, (inside, consistent, saturated)


@pytest.mark.parametrize('motion_boundary', [False, True])
@pytest.mark.parametrize('kind', ['reader', 'numpy', 'tensor'])
def test_saturation_fast_path_matches_dense_mask_bit_for_bit(
        tmp_path, motion_boundary, kind):
    """Only clipped fields get a mask (as an extra grid_sample channel):
    same stop codes, tracks and terms, bit for bit, as the dense test."""
    path = _zoom_burst_store(tmp_path)
    with FlowReader(path) as reader:
        t, size, bound = reader.num_frames, reader.frame_size, reader.bound
        flows = [reader.read(i) for i in range(reader.num_pairs)]
        level = bound * (1 - SATURATION_MARGIN / 127)
        clipped = [max(np.abs(f).max(), np.abs(b).max()) >= level
                   for f, b in flows]
        assert 0 < sum(clipped) < len(clipped)  # both paths are exercised
        provider = {'reader': reader.read,
                    'numpy': lambda i: flows[i],
                    'tensor': lambda i: tuple(map(torch.from_numpy,
                                                  flows[i]))}[kind]
        start, xy = sample_seeds(600, t, size, np.random.default_rng(3))
        runs = [cls(motion_boundary=motion_boundary, device='cpu',
                    prefetch=kind == 'reader', saturation_bound=bound
                    ).track(provider, t, size, start, xy)
                for cls in (PointTracker, _DenseMaskTracker)]
    fast, dense = runs
    for name in ('start', 'length', 'stop', 'points', 'terms'):
        a, b = getattr(fast, name), getattr(dense, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    codes = np.bincount(fast.stop, minlength=5)
    assert codes[STOP_SATURATED] > 20 and codes[STOP_END] > 20, codes
    assert codes[STOP_LEFT] > 0 and codes[STOP_INCONSISTENT] > 0, codes


def test_tracker_runs_one_cpu_thread_and_restores_the_setting():
    fwd = [np.full((H, W, 2), 0.5, np.float32)] * 3
    seen = []

    def provider(t):
        seen.append(torch.get_num_threads())
        return fwd[t], -fwd[t]

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        start, xy = _seeds(5)
        PointTracker(device='cpu', prefetch=False).track(
            provider, 4, (H, W), start, xy)
        assert seen == [1, 1, 1] and torch.get_num_threads() == 2
        PointTracker(device='cpu', prefetch=False, cpu_threads=None).track(
            provider, 4, (H, W), start, xy)
        assert seen[3:] == [2, 2, 2]
    finally:
        torch.set_num_threads(before)
