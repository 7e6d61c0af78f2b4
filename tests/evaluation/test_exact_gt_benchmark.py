"""Exact ground-truth pair sets and their benchmark: oracle, chance, position-only."""
import importlib.util
import math

import numpy as np
import pytest
import torch

from pico_mm.evaluation import (KINDS, cell_centres, embed_pairs,
                                exact_gt_columns, format_table, headline,
                                make_pair_set, mean_std, run_exact_gt,
                                sample_features, score_pair_features)
from pico_mm.evaluation import exact_gt_pairs as E

torch.set_num_threads(1)
SIZE = (64, 80)
STRIDE = 4


@pytest.fixture(scope='module')
def val_set():
    return make_pair_set('val', pairs_per_kind=3, size=SIZE, points_per_pair=96)


def _rbf(xy: torch.Tensor, size, spacing=3.0, sigma=3.0) -> torch.Tensor:
    """Positional code: Gaussian bumps on a grid (M×D); cosine ~ closeness."""
    H, W = size
    ay, ax = torch.arange(-8, H + 8, spacing), torch.arange(-8, W + 8, spacing)
    gy, gx = torch.meshgrid(ay, ax, indexing='ij')
    anchors = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    return torch.exp(-torch.cdist(xy, anchors)**2 / (2 * sigma**2))


def _code_map(points: torch.Tensor, size) -> torch.Tensor:
    h, w = size[0] // STRIDE, size[1] // STRIDE
    return _rbf(points, size).t().reshape(-1, h, w) + 1e-6


def oracle_items(pairs):
    """Features from the known warp: A's cell codes its own position, B's cell
    codes the point of A that the warp put there."""
    h, w = SIZE[0] // STRIDE, SIZE[1] // STRIDE
    centres = cell_centres(h, w, SIZE)
    for p in pairs:
        warp = torch.from_numpy(p.b_to_a).permute(2, 0, 1)
        yield p, _code_map(centres, SIZE), _code_map(
            sample_features(warp, centres, SIZE), SIZE)


def position_items(pairs):
    """Features that only encode the position in the frame (ignore the image)."""
    h, w = SIZE[0] // STRIDE, SIZE[1] // STRIDE
    code = _code_map(cell_centres(h, w, SIZE), SIZE)
    for p in pairs:
        yield p, code, code


def test_pair_geometry_is_exact(val_set):
    assert [p.kind for p in val_set.pairs] == list(KINDS) * 3
    for p in val_set.pairs:
        assert p.frame_a.shape == p.frame_b.shape == SIZE + (3, )
        assert p.frame_a.dtype == np.uint8 and len(p.src) == 96
        xi, yi = p.dst[:, 0].astype(int), p.dst[:, 1].astype(int)
        assert np.array_equal(p.dst, np.stack([xi, yi], 1))  # integer pixels
        assert np.array_equal(p.src, p.b_to_a[yi, xi])  # src = warp(dst)
        assert not p.occluded[yi, xi].any()
        assert (p.src >= 0).all() and (p.src[:, 0] <= SIZE[1] - 1).all()
        assert (p.src[:, 1] <= SIZE[0] - 1).all()
    nonrigid = [p for p in val_set.pairs if p.kind == 'nonrigid']
    assert all(p.occluded.any() for p in nonrigid)
    motion = np.concatenate([np.linalg.norm(p.dst - p.src, axis=1)
                             for p in val_set.pairs])
    assert np.mean(motion > STRIDE) > 0.7  # most points move more than a cell


def test_pair_set_is_deterministic_and_versioned(val_set):
    again = make_pair_set('val', pairs_per_kind=3, size=SIZE, points_per_pair=96)
    assert again.fingerprint() == val_set.fingerprint()
    for a, b in zip(again.pairs, val_set.pairs):
        assert np.array_equal(a.frame_b, b.frame_b) and np.array_equal(a.src, b.src)
    # A smaller set is a prefix of a larger one.
    small = make_pair_set('val', pairs_per_kind=1, size=SIZE, points_per_pair=96)
    assert all(np.array_equal(a.frame_b, b.frame_b)
               for a, b in zip(small.pairs, val_set.pairs))
    other = make_pair_set('val', pairs_per_kind=3, size=SIZE, points_per_pair=96,
                          seed=7)
    assert other.fingerprint() != val_set.fingerprint()
    d = val_set.describe()
    assert d['version'] == E.PAIRSET_VERSION and d['seed'] == E.SPLIT_SEEDS['val']
    assert d['pairs'] == {'rigid': 3, 'nonrigid': 3}


def test_val_and_test_use_disjoint_photographs():
    assert not set(E.PHOTOS['val']) & set(E.PHOTOS['test'])
    test = make_pair_set('test', pairs_per_kind=2, size=SIZE, points_per_pair=8)
    assert {p.photo for p in test.pairs} <= set(E.PHOTOS['test'])
    assert E.SPLIT_SEEDS['val'] != E.SPLIT_SEEDS['test']


def test_oracle_from_the_warp_scores_one(val_set):
    res = score_pair_features(oracle_items(val_set.pairs), (1, 2))
    for group in ('rigid', 'nonrigid', 'all'):
        for r in ('1', '2'):
            s = res[group][r]
            assert s['pairs'] > 20 and s['acc'] == 1.0, (group, r, s)
            assert s['chance'] < 0.1 and s['zero_motion'] < 0.5


def test_random_features_score_about_chance(val_set):
    gen = torch.Generator().manual_seed(0)

    def embed(batch):
        n, _, H, W = batch.shape
        return torch.randn(n, 32, H // STRIDE, W // STRIDE, generator=gen)

    pairs = make_pair_set('val', pairs_per_kind=16, size=SIZE,
                          points_per_pair=96).pairs
    res = score_pair_features(embed_pairs(embed, pairs, 4), (1, 2))['all']
    for r, (lo, hi) in (('1', (0.005, 0.02)), ('2', (0.02, 0.06))):
        p, n = res[r]['chance'], res[r]['pairs']
        assert lo < p < hi and n > 800, (r, p, n)
        assert abs(res[r]['acc'] - p) < 4 * math.sqrt(p * (1 - p) / n) + 0.002


def test_position_only_features_score_the_no_motion_baseline(val_set):
    """Features that encode only the position match the cell at the source point:
    on moving points they score exactly the no-motion baseline, far below 1."""
    res = score_pair_features(position_items(val_set.pairs), (1, ))['all']['1']
    assert res['acc'] == pytest.approx(res['zero_motion'], abs=0.02)
    assert res['acc'] < 0.3


def test_run_exact_gt_with_embed_fn_and_table(val_set):
    calls = []

    def embed(batch):
        calls.append(tuple(batch.shape))
        assert batch.dtype == torch.uint8
        x = batch.float()
        return torch.nn.functional.avg_pool2d(x, STRIDE)

    done = []
    res = run_exact_gt(embed, val_set, (1, 2), batch_size=4, progress=done.append)
    assert calls[0] == (8, 3) + SIZE and sum(done) == len(val_set.pairs)
    assert res['pair_set']['fingerprint'] == val_set.fingerprint()
    cols = exact_gt_columns(res)
    assert list(cols) == ['rigid@1', 'nonrigid@1', 'all@1', 'rigid@2',
                          'nonrigid@2', 'all@2']
    assert headline(res) == cols['all@1']
    text = format_table({'mean colour': cols,
                         'seeds': {c: [0.1, 0.3] for c in cols}})
    assert 'mean colour' in text and '0.200±0.141' in text


def test_mean_std():
    assert mean_std([0.1, 0.3]) == pytest.approx((0.2, 0.1414213))
    assert mean_std([0.5]) == (0.5, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))


def test_bad_arguments_and_missing_photos(monkeypatch):
    with pytest.raises(E.ExactGTError, match='split'):
        make_pair_set('train')
    with pytest.raises(E.ExactGTError, match='kinds'):
        make_pair_set('val', kinds=('affine', ))
    with pytest.raises(E.ExactGTError, match='kinds'):
        make_pair_set('val', kinds=('stereo', ))  # stereo is its own split
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    E.load_photo.cache_clear()
    try:
        with pytest.raises(E.ExactGTError, match='setup_env.sh'):
            make_pair_set('val', pairs_per_kind=1, size=SIZE)
    finally:
        E.load_photo.cache_clear()
