"""Known-answer tests of the correspondence (B5) probe."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pico_mm.demo.synthetic import make_texture
from pico_mm.evaluation.correspondence_probe import (ProbePair, cell_centres,
                                                     chance_accuracy,
                                                     correspondence_accuracy,
                                                     run_probe, sample_features,
                                                     zero_motion_hits)

torch.set_num_threads(1)


def _patch_features(img: np.ndarray, stride: int) -> torch.Tensor:
    """'Identity' features: each position described by its blurred 7×7 patch.

    Returns C×(H/stride)×(W/stride), the stride-1 patch map average-pooled, so the
    features are a smooth, position-unique function of the image content.
    """
    x = torch.from_numpy(img).permute(2, 0, 1).float()[None] / 255.0
    x = F.avg_pool2d(x, 3, 1, 1)
    patches = F.unfold(x, 7, padding=3).reshape(1, -1, *img.shape[:2])
    patches = patches - patches.mean(1, keepdim=True)
    if stride > 1:
        patches = F.avg_pool2d(patches, stride, stride)
    return patches[0]


def _translated_pair(shift, size=(64, 80), seed=0):
    rng = np.random.default_rng(seed)
    big = make_texture(rng, size[0] + 40, size[1] + 40)
    dx, dy = shift
    a = big[20:20 + size[0], 20:20 + size[1]]
    # Frame B shows the scene moved by (dx, dy): b[y + dy, x + dx] = a[y, x].
    b = big[20 - dy:20 - dy + size[0], 20 - dx:20 - dx + size[1]]
    return a, b


def _interior_points(size, shift, n, margin, rng):
    H, W = size
    dx, dy = shift
    xs = rng.uniform(margin - min(dx, 0), W - 1 - margin - max(dx, 0), n)
    ys = rng.uniform(margin - min(dy, 0), H - 1 - margin - max(dy, 0), n)
    src = np.stack([xs, ys], 1).astype(np.float32)
    return src, src + np.array([dx, dy], np.float32)


def test_cell_centres_follow_contract():
    c = cell_centres(2, 3, (8, 12))
    # Cell (0, 0) of a stride-4 map covers pixels 0..3: centre at 1.5.
    assert torch.allclose(c[0], torch.tensor([1.5, 1.5]))
    assert torch.allclose(c[5], torch.tensor([9.5, 5.5]))


def test_sample_features_reads_cell_at_its_centre():
    feat = torch.arange(12, dtype=torch.float32).reshape(1, 3, 4)
    pts = cell_centres(3, 4, (12, 16))
    vals = sample_features(feat, pts, (12, 16))[:, 0]
    assert torch.allclose(vals, torch.arange(12, dtype=torch.float32), atol=1e-5)


def test_identity_features_stride1_exact():
    shift = (5, -3)
    a, b = _translated_pair(shift)
    fa, fb = _patch_features(a, 1), _patch_features(b, 1)
    rng = np.random.default_rng(1)
    src, dst = _interior_points(a.shape[:2], shift, 300, 6, rng)
    src, dst = np.round(src), np.round(dst)
    hits, n = correspondence_accuracy(fa, fb, src, dst, a.shape[:2])
    assert n == 300
    assert hits / n >= 0.98


def test_identity_features_stride4_translation():
    shift = (7, 5)  # not a multiple of the stride: sub-cell displacements
    a, b = _translated_pair(shift, seed=3)
    fa, fb = _patch_features(a, 4), _patch_features(b, 4)
    rng = np.random.default_rng(2)
    src, dst = _interior_points(a.shape[:2], shift, 400, 8, rng)
    hits, n = correspondence_accuracy(fa, fb, src, dst, a.shape[:2])
    assert hits / n >= 0.9
    # The same features with the wrong displacement score low: the probe can fail.
    hits_bad, _ = correspondence_accuracy(fa, fb, src, dst + 12, a.shape[:2])
    assert hits_bad / n <= 0.1


def test_random_features_at_chance():
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    size, fs, radius = (64, 80), (16, 20), 8.0
    hits = total = 0
    chance = []
    for _ in range(40):
        fa = torch.randn(16, *fs, generator=gen)
        fb = torch.randn(16, *fs, generator=gen)
        src = rng.uniform(0, 63, (100, 2)).astype(np.float32)
        dst = rng.uniform(0, 63, (100, 2)).astype(np.float32)
        h_, n_ = correspondence_accuracy(fa, fb, src, dst, size, radius=radius)
        hits += h_
        total += n_
        chance.append(chance_accuracy(size, fs, radius, dst))
    acc, p = hits / total, float(np.mean(chance))
    sigma = math.sqrt(p * (1 - p) / total)
    assert 0.02 < p < 0.2
    assert abs(acc - p) < 4 * sigma + 0.01


def test_chance_default_is_about_pi_cells():
    p = chance_accuracy((256, 256), (64, 64))
    # Radius one cell: ~5 cells (centre + 4 neighbours) out of 4096, fewer at borders.
    assert 4.5 / 4096 < p <= 5 / 4096 + 1e-9


def test_nan_points_are_ignored():
    fa = torch.randn(16, 8, 8, generator=torch.Generator().manual_seed(0))
    src = np.array([[5.5, 9.5], [np.nan, 1.0]], np.float32)
    hits, n = correspondence_accuracy(fa, fa, src, src, (32, 32))
    assert n == 1 and hits == 1


def test_run_probe_with_callable():
    shift = (4, 4)
    a, b = _translated_pair(shift, seed=5)
    rng = np.random.default_rng(4)
    src, dst = _interior_points(a.shape[:2], shift, 200, 8, rng)
    pairs = [ProbePair(a, b, src, dst), ProbePair(b, b, dst, dst)]

    def embed(x):
        assert x.dtype == torch.uint8 and x.shape == (4, 3, 64, 80)
        return torch.stack([
            _patch_features(im.permute(1, 2, 0).numpy(), 4) for im in x])

    res = run_probe(embed, pairs, batch_size=2)
    # Headline = the 200 points that moved by |(4, 4)| = 5.7 px > 1 cell (4 px);
    # the 200 points of the identical pair did not move.
    assert res['pairs'] == res['moving']['pairs'] == 200
    assert res['static']['pairs'] == 200 and res['all']['pairs'] == 400
    assert res['acc'] == res['moving']['acc'] >= 0.9
    assert res['all']['hits'] == res['moving']['hits'] + res['static']['hits']
    assert 0 < res['chance'] < 0.05
    # No motion: always right on static points, mostly wrong on moved ones.
    assert res['static']['zero_motion'] == 1.0
    assert res['zero_motion'] < 0.5
    assert 0.5 <= res['all']['zero_motion'] < 0.8
    empty = run_probe(embed, [])
    assert math.isnan(empty['acc']) and empty['pairs'] == 0


def test_position_only_features_cannot_win_the_headline():
    """Features that only encode position are perfect on static points and score
    just the no-motion baseline on moving ones, so the headline exposes them."""
    shift = (9, -6)
    a, b = _translated_pair(shift, seed=6)
    rng = np.random.default_rng(5)
    src, dst = _interior_points(a.shape[:2], shift, 150, 10, rng)
    pairs = [ProbePair(a, b, src, dst), ProbePair(a, a, src, src)]
    yy, xx = torch.meshgrid(torch.arange(16.), torch.arange(20.), indexing='ij')
    centres = torch.stack([xx, yy]).reshape(2, -1).t()
    code = torch.exp(-torch.cdist(centres, centres)**2 / 2).t().reshape(-1, 16, 20)

    def embed(x):
        return code[None].expand(x.shape[0], -1, -1, -1)

    res = run_probe(embed, pairs)
    assert res['static']['acc'] == 1.0 and res['static']['pairs'] == 150
    assert res['moving']['pairs'] == 150
    assert res['zero_motion'] == 0.0 and res['acc'] < 0.05
    assert res['all']['acc'] == pytest.approx(0.5, abs=0.03)


def test_zero_motion_baseline():
    src = np.array([[1.5, 1.5], [9.5, 5.5], [3.0, 3.0]], np.float32)
    # Still points hit; a point moved by 2 cells misses.
    assert zero_motion_hits(src, src, (16, 16), (4, 4)) == (3, 3)
    assert zero_motion_hits(src, src + 8, (16, 16), (4, 4)) == (0, 3)
    # (3, 3) -> nearest centre (1.5, 1.5) or a neighbour: within 1 cell of (5, 3).
    h, n = zero_motion_hits(src[2:], src[2:] + [2, 0], (16, 16), (4, 4))
    assert (h, n) == (1, 1)
