"""The stereo split: real parallax from scikit-image's Middlebury pair (issue 19, point 4)."""
import numpy as np
import pytest

from pico_mm.evaluation import (exact_gt_columns, make_pair_set,
                                score_pair_features)
from pico_mm.evaluation import deterministic_ops as D
from pico_mm.evaluation.exact_gt_stereo import (make_stereo_pair,
                                                right_visible, stereo_scene)

SIZE = (64, 80)


def test_right_visible_hand_made_row():
    """Background d=2, a near block x in [20, 30) with d=10 lands on [10, 20) of
    the right image and hides the background pixels that land there."""
    disp = np.full((3, 40), 2.0, np.float32)
    disp[:, 20:30] = 10.0
    disp[1, 35] = np.inf
    vis = right_visible(disp)
    row = vis[0]
    assert row[20:30].all()  # the near block is seen
    assert not row[12:20].any()  # background behind it: x - 2 in [10, 18)
    assert not row[0:2].any()  # x - 2 < 0: outside the right image
    assert row[2:10].all() and row[30:40].all()
    assert not vis[1, 35] and vis[2, 35]  # unknown disparity


def test_shipped_disparity_is_x_right_equals_x_left_minus_d():
    left, right, disp, vis = stereo_scene()
    assert left.shape == right.shape == disp.shape + (3, )
    assert 0.75 < vis.mean() < np.isfinite(disp).mean()
    yl, xl = np.nonzero(vis)
    d = disp[yl, xl].astype(np.float64)
    err = {}
    for name, dx in (('-d', -d), ('+d', d), ('-d+2', 2.0 - d)):
        right_px = D.bilinear_sample(right, xl + dx, yl)
        err[name] = np.abs(left[yl, xl] - right_px).mean()
    assert err['-d'] < 8 and err['-d'] < err['-d+2'] / 2 < err['+d'] / 4, err
    hidden = np.isfinite(disp) & ~vis
    yh, xh = np.nonzero(hidden)
    right_px = D.bilinear_sample(right, xh - disp[yh, xh], yh)
    assert np.abs(left[yh, xh] - right_px).mean() > 3 * err['-d']


def test_stereo_pairs_are_exact_and_versioned():
    ps = make_pair_set('stereo', pairs_per_kind=3, size=SIZE, points_per_pair=96)
    assert ps.describe()['pairs'] == {'stereo': 3}
    assert ps.fingerprint() == make_pair_set(
        'stereo', pairs_per_kind=3, size=SIZE, points_per_pair=96).fingerprint()
    for p in ps.pairs:
        assert p.kind == 'stereo' and len(p.src) == 96
        assert p.frame_a.shape == p.frame_b.shape == SIZE + (3, )
        assert np.array_equal(p.src[:, 1], p.dst[:, 1])  # same scanline
        assert (p.src[:, 0] > p.dst[:, 0]).all()  # d > 0: moves left
        for q in (p.src, p.dst):
            assert (q >= 0).all() and (q[:, 0] <= SIZE[1] - 1).all()
            assert (q[:, 1] <= SIZE[0] - 1).all()
    # without photometric jitter the two frames agree at src / dst
    rng = np.random.default_rng(0)
    p = make_stereo_pair(SIZE, 200, rng, jitter=False)
    a = D.bilinear_sample(p.frame_a, p.src[:, 0], p.src[:, 1])
    err = {s: np.abs(a - D.bilinear_sample(p.frame_b, p.dst[:, 0] + s,
                                           p.dst[:, 1])).mean()
           for s in (0.0, 3.0)}
    assert err[0.0] < 10 and err[0.0] < err[3.0] / 2, err


def test_stereo_scores_have_their_own_group():
    ps = make_pair_set('stereo', pairs_per_kind=2, size=SIZE, points_per_pair=64)

    def items():
        gen = np.random.default_rng(0)
        for p in ps.pairs:
            yield (p, gen.random((8, SIZE[0] // 4, SIZE[1] // 4)),
                   gen.random((8, SIZE[0] // 4, SIZE[1] // 4)))

    res = score_pair_features(items(), (1, ))
    assert list(res) == ['stereo', 'all']
    assert res['stereo']['1'] == res['all']['1']
    assert res['all']['1']['pairs'] > 50
    cols = exact_gt_columns(dict(radii_cells=[1.0], scores=res))
    assert list(cols) == ['stereo@1', 'all@1']
    with pytest.raises(Exception, match='kinds'):
        make_pair_set('stereo', kinds=('rigid', ))
