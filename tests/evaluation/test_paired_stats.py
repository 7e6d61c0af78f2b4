"""The pre-registered analysis of issue 19 (pico_mm.evaluation.paired_stats)."""
import numpy as np
import pytest

from pico_mm.evaluation.paired_stats import (OUTCOMES, bootstrap_clips, contrast,
                                             decide, equivalent, margin,
                                             paired_t, seeds_needed)


def test_paired_t_by_hand():
    # d = 1, 2, 3, 4, 5, 6: mean 3.5, sample std sqrt(3.5); t(0.975, 5) = 2.5706
    st = paired_t([2, 4, 6, 8, 10, 12], [1, 2, 3, 4, 5, 6])
    assert st['n'] == 6 and st['mean'] == pytest.approx(3.5)
    assert st['std'] == pytest.approx(np.sqrt(3.5))
    h = 2.570582 * np.sqrt(3.5) / np.sqrt(6)
    assert st['ci95'] == pytest.approx((3.5 - h, 3.5 + h), abs=1e-5)
    h90 = 2.015048 * np.sqrt(3.5) / np.sqrt(6)
    assert st['ci90'] == pytest.approx((3.5 - h90, 3.5 + h90), abs=1e-5)
    with pytest.raises(ValueError):
        paired_t([1], [0])


def test_equivalence_and_margin():
    st = paired_t([0.101, 0.099, 0.1, 0.102, 0.098, 0.1], [0.1] * 6)
    assert equivalent(st, 0.01) and not equivalent(st, 0.0005)
    assert margin(0.02) == 0.01 and margin(0.08) == pytest.approx(0.02)
    assert seeds_needed(dict(std=0.01), 0.01) == 7


def _clips(acc, n_clips=8, points=100, spread=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return {f'c{i}': (int(round(points * min(1, max(0, acc + spread *
                                                     rng.standard_normal())))),
                      points) for i in range(n_clips)}


def test_bootstrap_interval_contains_the_difference_and_is_reproducible():
    a = [_clips(0.6, spread=0.1, seed=s) for s in range(6)]
    b = [_clips(0.5, spread=0.1, seed=10 + s) for s in range(6)]
    lo, hi = bootstrap_clips(a, b, n_boot=2000)
    assert lo < 0.1 < hi and lo > 0
    assert bootstrap_clips(a, b, n_boot=2000) == (lo, hi)
    with pytest.raises(ValueError, match='same seeds'):
        bootstrap_clips(a, b[:5])


def _contrast(diff, noise, delta=0.01):
    rng = np.random.default_rng(abs(int(diff * 1000)) + int(noise * 1000) + 7)
    base = 0.3 + 0.01 * rng.standard_normal(6)
    a = base + diff + noise * rng.standard_normal(6)
    ca = [_clips(x) for x in a]
    cb = [_clips(x) for x in base]
    return contrast(a, base, ca, cb, delta, n_boot=500)


def test_decision_rule_reaches_each_registered_outcome():
    up, flat, down = _contrast(0.1, 0.002), _contrast(0.0, 0.001), \
        _contrast(-0.1, 0.002)
    wide = _contrast(0.0, 0.05)
    assert decide(dict(sf_init=flat, pico_sf=up, oracle_sf=up)) == OUTCOMES[0]
    assert decide(dict(sf_init=up, pico_sf=up, oracle_sf=flat)) == OUTCOMES[1]
    assert decide(dict(sf_init=up, pico_sf=down, oracle_sf=up)) == OUTCOMES[2]
    assert decide(dict(sf_init=up, pico_sf=flat, oracle_sf=flat)) == OUTCOMES[3]
    assert decide(dict(sf_init=up, pico_sf=flat, oracle_sf=up)) == OUTCOMES[4]
    assert decide(dict(sf_init=up, pico_sf=wide, oracle_sf=wide)) == OUTCOMES[5]
