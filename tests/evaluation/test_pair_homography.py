"""Fraction of pairs off one RANSAC homography (issue 19, point 6)."""
import math

import numpy as np
import pytest

from pico_mm.evaluation.pair_homography import (fraction_off_homography,
                                                homography_residuals,
                                                summarize_off_homography)


def _homography_pairs(rng, n=200):
    src = rng.uniform(0, 64, (n, 2))
    H = np.array([[1.1, 0.05, 3.0], [-0.04, 0.95, -2.0], [0.001, -0.0005, 1.0]])
    p = np.concatenate([src, np.ones((n, 1))], 1) @ H.T
    return src, p[:, :2] / p[:, 2:]


def test_pairs_of_one_homography_are_all_on_it():
    src, dst = _homography_pairs(np.random.default_rng(0))
    err = homography_residuals(src, dst, 4.0)
    assert err.shape == (200, ) and err.max() < 1e-6
    assert fraction_off_homography(src, dst) == (0, 200)
    # a horizontal flip + crop + zoom (what the views do) is a homography too
    flip = np.stack([63 - src[:, 0] * 0.5, src[:, 1] * 0.5 + 7], 1)
    assert fraction_off_homography(src, flip) == (0, 200)


def test_half_the_pairs_moved_by_ten_pixels_are_off():
    rng = np.random.default_rng(1)
    src, dst = _homography_pairs(rng)
    moved = rng.permutation(200)[:100]
    ang = rng.uniform(0, 2 * np.pi, 100)
    dst[moved] += 10.0 * np.stack([np.cos(ang), np.sin(ang)], 1)
    off, n = fraction_off_homography(src, dst, cell=4.0)
    assert n == 200 and off / n == pytest.approx(0.5, abs=0.02)
    err = homography_residuals(src, dst, 4.0)
    assert (err[moved] > 4).mean() > 0.95


def test_summary_skips_small_and_degenerate_samples():
    rng = np.random.default_rng(2)
    good = _homography_pairs(rng, 50)
    src, dst = _homography_pairs(rng, 40)
    dst = dst.copy()
    dst[:10] += 12.0  # a quarter off, all in one direction
    few = (np.zeros((5, 2)), np.zeros((5, 2)))
    same = (np.ones((20, 2)), np.ones((20, 2)))  # all points identical
    res = summarize_off_homography([good, (src, dst), few, same], cell=4.0)
    assert res['samples'] == 4 and res['used'] == 2 and res['few_pairs'] == 1
    assert res['degenerate'] == 1 and res['pairs'] == 90
    assert res['fractions'] == pytest.approx([0.0, 0.25])
    assert res['mean'] == pytest.approx(0.125)
    assert res['median'] == pytest.approx(0.125)
    assert res['pooled'] == pytest.approx(10 / 90)
    empty = summarize_off_homography([few])
    assert empty['used'] == 0 and math.isnan(empty['pooled'])
    assert homography_residuals(np.zeros((3, 2)), np.zeros((3, 2)), 4) is None
    with pytest.raises(ValueError, match='length'):
        homography_residuals(np.zeros((5, 2)), np.zeros((6, 2)), 4)
