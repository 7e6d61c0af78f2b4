"""Exactness of the point maps in pico_mm.datasets.transforms.point_ops.

These import the module file directly (pure numpy/cv2), so they also run
without mmcv/mmselfsup.
"""
import importlib.util
import os.path as osp

import cv2
import numpy as np
import pytest

_PATH = osp.join(
    osp.dirname(__file__), '..', '..', 'pico_mm', 'datasets', 'transforms',
    'point_ops.py')
_spec = importlib.util.spec_from_file_location('pico_point_ops', _PATH)
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)


def _random_image(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _colour_at(img, pts):
    """Colours at integer-valued points (x, y)."""
    xi = np.round(pts[:, 0]).astype(int)
    yi = np.round(pts[:, 1]).astype(int)
    return img[yi, xi]


@pytest.mark.parametrize('seed', range(5))
def test_crop_and_flip_are_exact_on_random_texture(seed):
    rng = np.random.default_rng(seed)
    h, w = 37, 53
    img = _random_image(rng, h, w)
    pts = np.stack([rng.integers(0, w, 300), rng.integers(0, h, 300)],
                   1).astype(np.float32)
    ch, cw = int(rng.integers(5, h)), int(rng.integers(5, w))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = img[y0:y0 + ch, x0:x0 + cw]
    cp = ops.crop_points(pts, x0, y0, cw, ch)
    inside = np.isfinite(cp).all(1)
    expect_inside = ((pts[:, 0] >= x0) & (pts[:, 0] < x0 + cw)
                     & (pts[:, 1] >= y0) & (pts[:, 1] < y0 + ch))
    np.testing.assert_array_equal(inside, expect_inside)
    assert inside.any()
    np.testing.assert_array_equal(
        _colour_at(crop, cp[inside]), _colour_at(img, pts[inside]))
    for direction in ('horizontal', 'vertical', 'diagonal'):
        fp = ops.flip_points(cp[inside], cw, ch, direction)
        flipped = {'horizontal': crop[:, ::-1], 'vertical': crop[::-1],
                   'diagonal': crop[::-1, ::-1]}[direction]
        np.testing.assert_array_equal(
            _colour_at(flipped, fp), _colour_at(img, pts[inside]))


@pytest.mark.parametrize('src,dst', [((40, 30), (64, 48)), ((64, 48),
                                                           (40, 30)),
                                     ((33, 17), (101, 29))])
def test_resize_matches_cv2_sampling_grid(src, dst):
    """cv2 bilinear resize of a linear ramp reproduces the source coordinate
    of each output pixel; the point map must give the same coordinate."""
    sw, sh = src
    dw, dh = dst
    xs, ys = np.meshgrid(np.arange(sw, dtype=np.float32),
                         np.arange(sh, dtype=np.float32))
    ramp_x = cv2.resize(xs, (dw, dh), interpolation=cv2.INTER_LINEAR)
    ramp_y = cv2.resize(ys, (dw, dh), interpolation=cv2.INTER_LINEAR)
    # Output pixel centres mapped back to the source = inverse point map.
    ox, oy = np.meshgrid(np.arange(dw), np.arange(dh))
    out_pts = np.stack([ox.ravel(), oy.ravel()], 1).astype(np.float32)
    back = ops.resize_points(out_pts, (dw, dh), (sw, sh))
    # away from the clamped border the ramp value is exact
    interior = ((back[:, 0] >= 0) & (back[:, 0] <= sw - 1)
                & (back[:, 1] >= 0) & (back[:, 1] <= sh - 1))
    assert interior.mean() > 0.5
    np.testing.assert_allclose(
        ramp_x.ravel()[interior], back[interior, 0], atol=2e-3)
    np.testing.assert_allclose(
        ramp_y.ravel()[interior], back[interior, 1], atol=2e-3)
    # forward and inverse maps compose to the identity
    fwd = ops.resize_points(back, (sw, sh), (dw, dh))
    np.testing.assert_allclose(fwd, out_pts, atol=1e-4)


def test_mark_outside_uses_pixel_extent():
    pts = np.array([[-0.5, 0], [-0.51, 0], [9.5, 0], [9.51, 0], [0, 4.5],
                    [0, 4.51], [3, -0.5]], np.float32)
    out = ops.mark_outside(pts.copy(), 10, 5)
    np.testing.assert_array_equal(
        np.isfinite(out).all(1),
        [True, False, True, False, True, False, True])
    # the extent is closed, so a flip keeps inside points inside
    flipped = ops.flip_points(pts[np.isfinite(out).all(1)], 10, 5, 'diagonal')
    assert np.isfinite(ops.mark_outside(flipped, 10, 5)).all()


def test_as_points_rejects_bad_shapes_and_accepts_empty():
    assert ops.as_points([]).shape == (0, 2)
    with pytest.raises(ValueError, match='M×2'):
        ops.as_points(np.zeros((3, 3)))
    p1 = np.array([[0, 0], [np.nan, 1], [2, 2]], np.float32)
    p2 = np.array([[0, 0], [1, 1], [2, np.nan]], np.float32)
    np.testing.assert_array_equal(ops.valid_pairs(p1, p2),
                                  [True, False, False])


def test_resize_keeps_edge_points_inside():
    """x = w - 0.5 maps to exactly W - 0.5 (no float overshoot)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        w, h = (int(v) for v in rng.integers(5, 300, 2))
        dw, dh = (int(v) for v in rng.integers(5, 300, 2))
        pts = np.float32([[w - 0.5, h - 0.5], [-0.5, -0.5]])
        out = ops.resize_points(pts, (w, h), (dw, dh))
        np.testing.assert_array_equal(out, [[dw - 0.5, dh - 0.5], [-0.5, -0.5]])
        assert np.isfinite(ops.mark_outside(out, dw, dh)).all()
