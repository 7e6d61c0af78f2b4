"""Tests of the demo's picture helpers (PCA-RGB, curves)."""
import json
import os

import cv2
import numpy as np
import torch

from pico_mm.demo.pictures import (find_scalars, pca_rgb, read_scalars,
                                   save_curves, save_pca_figure)


def test_pca_rgb_separates_feature_clusters():
    # Left half of the map has one feature vector, right half another.
    f = torch.zeros(8, 6, 10)
    f[0, :, :5] = 1
    f[1, :, 5:] = 1
    f += 0.01 * torch.randn(8, 6, 10, generator=torch.Generator().manual_seed(0))
    (img, ) = pca_rgb([f])
    assert img.shape == (6, 10, 3) and img.dtype == np.uint8
    left = img[:, :5].reshape(-1, 3).astype(float).mean(0)
    right = img[:, 5:].reshape(-1, 3).astype(float).mean(0)
    ch = int(np.argmax(np.abs(left - right)))
    assert abs(left[ch] - right[ch]) > 150
    # The leading component is flat inside each cluster (noise only in the others).
    assert img[:, :5, ch].std() < 40 and img[:, 5:, ch].std() < 40


def test_pca_rgb_joint_and_upsampled():
    a = np.random.default_rng(0).normal(size=(16, 4, 5)).astype(np.float32)
    imgs = pca_rgb([a, torch.from_numpy(a)], out_size=(16, 20))
    assert imgs[0].shape == (16, 20, 3)
    # Same features in two frames → same colours (one PCA for all maps).
    assert np.array_equal(imgs[0], imgs[1])
    # Nearest upsampling keeps 4×4 blocks.
    assert (imgs[0][:4, :4] == imgs[0][0, 0]).all()


def test_save_pca_figure(tmp_path):
    frames = [np.full((32, 40, 3), c, np.uint8) for c in (50, 200)]
    feats = {'init': [torch.randn(8, 8, 10) for _ in frames],
             'PiCo': [torch.randn(8, 8, 10) for _ in frames]}
    out = save_pca_figure(str(tmp_path / 'pca.png'), frames, feats)
    img = cv2.imread(out)
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 200
    assert not [f for f in os.listdir(tmp_path) if f.startswith('.tmp')]


def _write_scalars(path, loss_scale):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(json.dumps({'probe/acc': 0.1, 'probe/chance': 0.01, 'step': 0}) + '\n')
        for it in range(1, 11):
            f.write(json.dumps({'lr': 0.1, 'loss': loss_scale / it, 'iter': it,
                                'step': it, 'time': 0.5}) + '\n')
        f.write('not json\n')
        f.write(json.dumps({'probe/acc': 0.3, 'probe/chance': 0.01, 'step': 10}) + '\n')


def test_read_scalars_and_curves(tmp_path):
    p1 = str(tmp_path / 'a' / '20240101_000000' / 'vis_data' / 'scalars.json')
    p2 = str(tmp_path / 'b' / '20240101_000000' / 'vis_data' / 'scalars.json')
    _write_scalars(p1, 5.0)
    _write_scalars(p2, 3.0)
    s = read_scalars(p1)
    steps, vals = s['loss']
    assert steps.tolist() == list(range(1, 11))
    assert np.allclose(vals, 5.0 / np.arange(1, 11))
    assert s['probe/acc'][0].tolist() == [0.0, 10.0]
    assert 'iter' not in s
    assert find_scalars(str(tmp_path / 'a')) == p1
    assert find_scalars(str(tmp_path / 'missing')) is None
    out = save_curves(str(tmp_path / 'curves.png'), {'PiCo': p1, 'Static': p2},
                      keys=('loss', 'probe/acc', 'absent'))
    img = cv2.imread(out)
    assert img is not None and img.shape[1] > 3 * 300
