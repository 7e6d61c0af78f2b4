"""CPU-independent image operations: agree with OpenCV, same bits without SIMD."""
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from pico_mm.evaluation import deterministic_ops as D

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PIPELINE = '''
import sys
import cv2
import numpy as np
cv2.setUseOptimized(False)
sys.path.insert(0, {root!r})
from pico_mm.evaluation import deterministic_ops as D
rng = np.random.default_rng(5)
img = rng.integers(0, 256, (40, 50, 3)).astype(np.float64)
blur = D.binomial_blur(img, 3)
m = D.homography_from_corners(
    np.array([[0., 0.], [49., 0.], [49., 39.], [0., 39.]]),
    np.array([[2., 1.], [47., -3.], [51., 41.], [-1., 38.]]))
ys, xs = np.mgrid[0:40, 0:50]
x, y = D.apply_homography(m, xs, ys)
f = D.smooth_field(rng, (40, 50), (3, 4), 3.0)
warped = D.bilinear_sample(blur, x + f[..., 0], y + f[..., 1])
s = D.similarity(0.1, D.ratio(rng.random(), 1.25), (24.5, 19.5), (3.0, -2.0))
tone = D.bias_curve(warped / 255.0, 1.2) + D.noise(rng, warped.shape, 0.02)
mask = D.dilate3(D.ellipse_mask((40, 50), (20.3, 11.7), (9.5, 5.2), -0.15))
print(D.sha1_hex([D.to_uint8(tone, 255.0), x, f, s, mask]))
'''


def test_homography_from_corners_matches_opencv():
    src = np.array([[0, 0], [159, 0], [159, 127], [0, 127]], np.float64)
    dst = src + np.random.default_rng(0).uniform(-12, 12, (4, 2))
    m = D.homography_from_corners(src, dst)
    ref = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    np.testing.assert_allclose(m, ref, rtol=1e-6, atol=1e-7)
    x, y = D.apply_homography(m, src[:, 0], src[:, 1])
    np.testing.assert_allclose(np.stack([x, y], 1), dst, atol=1e-9)
    back = D.adjugate3(m)
    x2, y2 = D.apply_homography(back, x, y)
    np.testing.assert_allclose(np.stack([x2, y2], 1), src, atol=1e-9)


def test_bilinear_sample_is_remap_without_fixed_point():
    """cv2.remap quantises coordinates to 1/32 px; on that grid they agree."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (30, 40, 3)).astype(np.float32)
    x = np.round(rng.uniform(-6, 46, (25, 25)) * 32) / 32
    y = np.round(rng.uniform(-6, 36, (25, 25)) * 32) / 32
    ref = cv2.remap(img, x.astype(np.float32), y.astype(np.float32),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    np.testing.assert_allclose(D.bilinear_sample(img, x, y), ref, atol=1e-3)
    grey = D.bilinear_sample(img[..., 0], x, y)
    assert grey.shape == x.shape


def test_cubic_upsample_and_binomial_blur_match_opencv():
    rng = np.random.default_rng(2)
    coarse = rng.uniform(-1, 1, (3, 4, 2))
    ref = cv2.resize(coarse.astype(np.float32), (80, 64), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_allclose(D.cubic_upsample(coarse, (64, 80)), ref, atol=1e-5)
    img = rng.integers(0, 256, (20, 30)).astype(np.float64)
    k = np.array([1, 4, 6, 4, 1]) / 16.0
    ref = cv2.sepFilter2D(img, -1, k, k, borderType=cv2.BORDER_REFLECT101)
    np.testing.assert_allclose(D.binomial_blur(img, 2), ref, atol=1e-9)
    assert D.antialias_passes(1.0) == 0 and D.antialias_passes(0.5) == 2


def test_rational_parametrisations():
    for u in (0.0, 0.25, 0.5, 0.9):
        s = D.ratio(u, 1.25)
        assert 0.8 - 1e-12 <= s <= 1.25 and s * D.ratio(1.0 - u, 1.25) == \
            pytest.approx(1.0)
    c, s = D.rotation(np.tan(np.deg2rad(10.0)))
    assert (c, s) == pytest.approx((np.cos(np.deg2rad(20)), np.sin(np.deg2rad(20))))
    x = np.linspace(0, 1, 11)
    assert np.array_equal(D.bias_curve(x, 1.0), x)
    assert (np.diff(D.bias_curve(x, 1.25)) > 0).all()
    n = D.noise(np.random.default_rng(3), (200000, ), 0.5)
    assert abs(n.mean()) < 0.01 and n.std() == pytest.approx(0.5, rel=0.02)
    e = D.ellipse_mask((21, 31), (15, 10), (8, 3), 0.0)
    assert e.sum() == pytest.approx(np.pi * 8 * 3, rel=0.1) and e[10, 15]
    assert not e[10, 24] and D.dilate3(e).sum() > e.sum()


def test_same_bits_with_numpy_and_opencv_simd_disabled():
    """The whole toolbox, here and in a subprocess without SIMD: same hash."""
    code = PIPELINE.format(root=ROOT)
    env = D.scalar_cpu_env()
    assert 'SSE2' not in env['NPY_DISABLE_CPU_FEATURES'].split()
    here = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, check=True).stdout.strip()
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'unknown CPU feature' not in res.stderr, res.stderr
    assert len(here) == 12 and res.stdout.strip() == here
