"""Point-preserving view transforms: the colour at a mapped point equals the
colour at its source point (colour ops off), for crops, resizes, flips and
their composition with random parameters; packing."""
import random

import numpy as np
import pytest
import torch

import pico_mm  # noqa: F401  (registers the transforms)
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from mmselfsup.registry import TRANSFORMS

BLOCK = 8


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmselfsup')
    np.random.seed(0)
    random.seed(0)  # mmselfsup's crop box uses the `random` module


def block_image(h=96, w=128, block=BLOCK):
    """Piecewise-constant image, a unique colour per block."""
    by, bx = np.mgrid[0:h, 0:w] // block
    idx = by * (w // block + 1) + bx
    img = np.stack([idx % 251, (idx * 7) % 253, (idx * 13) % 255], -1)
    return img.astype(np.uint8)


def block_centres(h=96, w=128, block=BLOCK):
    ys, xs = np.mgrid[block // 2:h:block, block // 2:w:block]
    # centre of a block of even size lies between pixels: use x.5
    return np.stack([xs.ravel() - 0.5, ys.ravel() - 0.5], 1).astype(np.float32)


def colours(img, pts):
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, img.shape[1] - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, img.shape[0] - 1)
    return img[yi, xi].astype(int)


@pytest.mark.parametrize('backend,block,tol', [('cv2', 8, 0),
                                                ('pillow', 16, 1)])
def test_random_resized_crop_maps_points(backend, block, tol):
    img = block_image(block=block)
    src = block_centres(block=block)
    crop = TRANSFORMS.build(
        dict(type='PointRandomResizedCrop', size=(48, 64), scale=(0.2, 1.0),
             backend=backend))
    dropped = kept = 0
    for _ in range(30):
        out = crop(dict(img=img.copy(), points=src.copy()))
        assert out['img'].shape == (48, 64, 3)
        pts = out['points']
        inside = np.isfinite(pts).all(1)
        x0, y0, x1, y1 = out['crop_bbox']
        expect = ((src[:, 0] >= x0 - 0.5) & (src[:, 0] <= x1 + 0.5)
                  & (src[:, 1] >= y0 - 0.5) & (src[:, 1] <= y1 + 0.5))
        np.testing.assert_array_equal(inside, expect)
        assert (pts[inside] >= -0.5).all()
        assert (pts[inside, 0] <= 64 - 0.5).all()
        assert (pts[inside, 1] <= 48 - 0.5).all()
        diff = np.abs(colours(out['img'], pts[inside]) -
                      colours(img, src[inside]))
        assert diff.max(initial=0) <= tol
        kept += inside.sum()
        dropped += (~inside).sum()
    assert kept > 0 and dropped > 0


def test_random_flip_maps_points_exactly():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (31, 45, 3), dtype=np.uint8)
    src = np.stack([rng.integers(0, 45, 200), rng.integers(0, 31, 200)],
                   1).astype(np.float32)
    for direction in ('horizontal', 'vertical', 'diagonal'):
        flip = TRANSFORMS.build(
            dict(type='PointRandomFlip', prob=1.0, direction=direction))
        out = flip(dict(img=img.copy(), points=src.copy()))
        assert out['flip']
        np.testing.assert_array_equal(
            colours(out['img'], out['points']), colours(img, src))
    noflip = TRANSFORMS.build(dict(type='PointRandomFlip', prob=0.0))
    out = noflip(dict(img=img.copy(), points=src.copy()))
    np.testing.assert_array_equal(out['points'], src)
    np.testing.assert_array_equal(out['img'], img)


def test_resize_maps_points():
    img = block_image()
    src = block_centres()
    for size in ((48, 64), (150, 170), (96, 64)):
        out = TRANSFORMS.build(dict(type='PointResize', size=size))(
            dict(img=img.copy(), points=src.copy()))
        assert out['img'].shape[:2] == size
        np.testing.assert_array_equal(
            colours(out['img'], out['points']), colours(img, src))


def _geometric_views(size=(40, 56)):
    return TRANSFORMS.build(
        dict(
            type='CorrespondenceViews',
            transforms=[
                dict(type='PointRandomResizedCrop', size=size,
                     scale=(0.2, 1.0)),
                dict(type='PointRandomFlip', prob=0.5),
            ]))


def test_composition_keeps_pairs_aligned_between_two_frames():
    """Frame 2 = frame 1 translated by an integer shift; the composed random
    crop+resize+flip of each view must keep colour(p1) == colour(p2)."""
    img1 = block_image(112, 144)
    dx, dy = 16, 8  # multiples of the block size keep blocks aligned
    img2 = np.zeros_like(img1)
    img2[dy:, dx:] = img1[:-dy, :-dx]
    p1 = block_centres(112 - dy, 144 - dx)
    p2 = p1 + np.float32([dx, dy])
    views = _geometric_views()
    kept = 0
    for _ in range(40):
        out = views(dict(img=img1.copy(), img2=img2.copy(), points1=p1.copy(),
                         points2=p2.copy()))
        q, k = out['points1'], out['points2']
        assert q.shape == k.shape and np.isfinite(q).all()
        assert out['img'].shape == out['img2'].shape == (40, 56, 3)
        np.testing.assert_array_equal(
            colours(out['img'], q), colours(out['img2'], k))
        kept += len(q)
    assert kept > 0


def test_views_get_independent_parameters():
    img = block_image()
    pts = block_centres()
    views = _geometric_views()
    differ = 0
    for _ in range(10):
        out = views(dict(img=img.copy(), img2=img.copy(), points1=pts.copy(),
                         points2=pts.copy()))
        if len(out['points1']) and not np.allclose(out['points1'],
                                                   out['points2']):
            differ += 1
    assert differ >= 8


def test_mocov2_pipeline_with_colour_ops_runs_and_keeps_geometry():
    """Full MoCo-v2 view pipeline: colours change, geometry stays valid."""
    from mmengine.config import Config
    import os.path as osp
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', 'pico',
                 '_base_', 'datasets', 'k400_pico.py'))
    views = TRANSFORMS.build(cfg.train_pipeline[0])
    pack = TRANSFORMS.build(cfg.train_pipeline[1])
    img = block_image(120, 160)
    pts = block_centres(120, 160)
    for _ in range(5):
        out = views(dict(img=img.copy(), img2=img.copy(), points1=pts.copy(),
                         points2=pts.copy()))
        assert out['img'].shape == out['img2'].shape == (224, 224, 3)
        assert out['img'].dtype == np.uint8
        for key in ('points1', 'points2'):
            p = out[key]
            assert ((p >= -0.5) & (p <= 223.5)).all()
        packed = pack(out)
        assert packed['inputs'][0].shape == (3, 224, 224)


def test_pack_picks_a_random_subset_of_pairs_and_pads():
    rng = np.random.default_rng(0)
    pack = TRANSFORMS.build(dict(type='PackPiCoInputs', num_points=16))
    img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    p1 = rng.uniform(0, 19, (50, 2)).astype(np.float32)
    p2 = p1 + 100
    p1[3] = np.nan  # an invalid pair is never picked
    res = pack(dict(img=img, img2=img[::-1].copy(), points1=p1, points2=p2,
                    video='a.mp4', frame_inds=(1, 2)))
    v1, v2 = res['inputs']
    assert v1.dtype == torch.uint8 and v1.shape == (3, 20, 24)
    torch.testing.assert_close(v1, torch.from_numpy(img).permute(2, 0, 1))
    ds = res['data_samples']
    assert ds.points_q.shape == (16, 2) and ds.points_q.dtype == torch.float32
    assert ds.points_valid.dtype == torch.bool and ds.points_valid.all()
    torch.testing.assert_close(ds.points_k, ds.points_q + 100)
    assert ds.video == 'a.mp4' and ds.num_pairs == 49
    assert np.isfinite(ds.points_q.numpy()).all()
    # subsets differ between calls (random), rows always stay paired
    res2 = pack(dict(img=img, img2=img, points1=p1, points2=p2))
    assert not torch.equal(res2['data_samples'].points_q, ds.points_q)

    few = pack(dict(img=img, img2=img, points1=p1[:5], points2=p2[:5]))
    s = few['data_samples']
    assert int(s.points_valid.sum()) == 4  # pair 3 is invalid
    assert s.points_valid[:4].all() and not s.points_valid[4:].any()
    assert (s.points_q[4:] == 0).all()

    batch = default_collate([res, res2, few])
    assert batch['inputs'][0].shape == (3, 3, 20, 24)
    assert len(batch['data_samples']) == 3


def test_pack_rejects_views_of_different_size():
    pack = TRANSFORMS.build(dict(type='PackPiCoInputs', num_points=4))
    with pytest.raises(ValueError, match='same size'):
        pack(dict(img=np.zeros((8, 8, 3), np.uint8),
                  img2=np.zeros((8, 9, 3), np.uint8),
                  points1=np.zeros((1, 2)), points2=np.zeros((1, 2))))
