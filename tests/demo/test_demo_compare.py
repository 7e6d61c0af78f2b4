"""Aggregation and goal check of the multi-seed comparison (pure python)."""
import math
import re

import pytest

from pico_mm.demo import compare


def _exact(acc):
    s = dict(acc=acc, hits=0, pairs=100, chance=0.004,
             zero_motion=0.01)
    groups = {g: {'1': dict(s), '2': dict(s, acc=min(1.0, acc + 0.1))}
              for g in ('rigid', 'nonrigid', 'all')}
    return dict(pair_set=dict(split='test', version=1, fingerprint='abc',
                              pairs=dict(rigid=2, nonrigid=2)),
                radii_cells=[1.0, 2.0], scores=groups)


def _tracks(acc):
    s = dict(acc=acc, hits=1, pairs=10, chance=0.01, zero_motion=0.05)
    return dict(s, moving=dict(s), all=dict(s, acc=0.5, pairs=20),
                static=dict(s, acc=0.9))


def _seed(seed, accs):
    return dict(seed=seed, results={
        n: dict(tracks=_tracks(a), exact_gt=dict(val=_exact(a), test=_exact(a)))
        for n, a in accs.items()}, seconds={})


def _runs(pico):
    base = [dict(init=0.10, **{'Static(Frame)': 0.20, 'Static(Video)': 0.15}),
            dict(init=0.11, **{'Static(Frame)': 0.22, 'Static(Video)': 0.14}),
            dict(init=0.09, **{'Static(Frame)': 0.21, 'Static(Video)': 0.16})]
    return [_seed(i, dict(b, PiCo=p)) for i, (b, p) in enumerate(zip(base, pico))]


def test_aggregate_and_stats():
    runs = _runs([0.30, 0.31, 0.32])
    agg = compare.aggregate(runs)
    assert list(agg['exact_gt']) == ['val', 'test']
    assert list(agg['tracks']) == ['init', 'Static(Frame)', 'Static(Video)', 'PiCo']
    stats = compare.headline_stats(agg)
    pico = stats['exact_gt/test']['PiCo']
    assert pico['values'] == [0.30, 0.31, 0.32]
    assert pico['mean'] == pytest.approx(0.31) and pico['std'] == pytest.approx(0.01)
    assert stats['tracks/moving']['init']['mean'] == pytest.approx(0.10)


def test_goal_met_and_not_met():
    ok = compare.goal_check(compare.headline_stats(compare.aggregate(
        _runs([0.30, 0.31, 0.32]))))
    assert len(ok) == 3 and all(line.endswith(': MET') for line in ok)
    assert ok[0].startswith('PiCo - Static(Frame)') and '+0.1000' in ok[0]
    # Ahead of Static(Frame) on average (+0.02) but within the seed spread.
    close = compare.goal_check(compare.headline_stats(compare.aggregate(
        _runs([0.30, 0.20, 0.22]))))
    assert close[0].endswith('not met') and close[2].endswith('MET')
    # One seed cannot show a spread: never met against a static baseline.
    one = compare.goal_check(compare.headline_stats(compare.aggregate(
        _runs([0.9])[:1])))
    assert one[0].endswith('not met') and one[2].endswith('MET')


def test_report_shows_mean_std_tables():
    text = compare.format_report(_runs([0.30, 0.31, 0.32]))
    assert '3 seed(s): [0, 1, 2]' in text
    assert text.count('Exact-GT correspondence') == 2 and 'Tracks probe' in text
    assert '0.310±0.010' in text
    assert 'Goal on the exact-GT test split' in text
    single = compare.format_report(_runs([0.3])[:1])
    assert not re.search(r'\d±\d', single.split('Goal')[0]) and '0.3000' in single


def test_nan_seeds_are_ignored_in_the_check():
    runs = _runs([0.30, math.nan, 0.32])
    lines = compare.goal_check(compare.headline_stats(compare.aggregate(runs)))
    assert 'over 2 seed(s)' in lines[0]
