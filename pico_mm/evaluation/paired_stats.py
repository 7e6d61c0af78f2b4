"""The pre-registered analysis of issue 19 (``docs/preregistration.md``).

* :func:`paired_t` — paired differences over seeds: mean, sample std, 95% and 90%
  t-intervals;
* :func:`equivalent` — two one-sided t-tests at α = 0.05 within ±δ (the 90%
  interval inside ``(-δ, +δ)``);
* :func:`bootstrap_clips` — 95% percentile interval of the seed-averaged
  difference, resampling test clips with replacement (fixed seed);
* :func:`margin` — δ = max(0.01, 0.25 × G), G the pilot's Static(Frame) − init
  gain on val;
* :func:`decide` — the decision rule, exactly as registered;
* :func:`seeds_needed` — seeds a decision would need at the observed spread.

Pure numpy/scipy.
"""
from typing import Mapping, Sequence, Tuple

import numpy as np

__all__ = ['paired_t', 'equivalent', 'bootstrap_clips', 'margin', 'contrast',
           'decide', 'seeds_needed', 'OUTCOMES']

#: The registered outcomes, in the order the rule checks them.
OUTCOMES = ('no answer at this scale (Static(Frame) does not beat init)',
            'PiCo helps', 'PiCo hurts', 'refuted at this scale',
            'mechanism holds, tracks are the bottleneck', 'inconclusive')


def _t_quantile(q: float, df: int) -> float:
    from scipy.stats import t
    return float(t.ppf(q, df))


def paired_t(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired difference ``a - b`` over seeds.

    Args:
        a (Sequence[float]): One value per seed.
        b (Sequence[float]): Same seeds, same order.

    Returns:
        dict: ``n``, ``mean``, ``std`` (sample), ``ci95`` and ``ci90`` (t).
    """
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    n = d.size
    if n < 2:
        raise ValueError(f'need at least 2 paired seeds, got {n}')
    mean, std = float(d.mean()), float(d.std(ddof=1))
    se = std / np.sqrt(n)
    ci = {}
    for name, level in (('ci95', 0.95), ('ci90', 0.90)):
        h = _t_quantile(0.5 + level / 2, n - 1) * se
        ci[name] = (float(mean - h), float(mean + h))
    return dict(n=int(n), mean=mean, std=std, **ci)


def equivalent(stats: Mapping, delta: float) -> bool:
    """TOST at α = 0.05: the 90% t-interval lies inside ``(-delta, +delta)``."""
    lo, hi = stats['ci90']
    return bool(-delta < lo and hi < delta)


def bootstrap_clips(a: Sequence[Mapping[str, Tuple[int, int]]],
                    b: Sequence[Mapping[str, Tuple[int, int]]],
                    n_boot: int = 10000, seed: int = 0,
                    level: float = 0.95) -> Tuple[float, float]:
    """Percentile interval of the seed-averaged difference, clips resampled.

    Args:
        a (Sequence[Mapping]): Per seed, ``{clip: (hits, points)}`` of arm A.
        b (Sequence[Mapping]): The same for arm B (same seeds, same clips).
        n_boot (int): Resamples.
        seed (int): Generator seed (registered: 0).
        level (float): Interval level.

    Returns:
        tuple[float, float]: ``(lo, hi)``.
    """
    clips = sorted(a[0])
    if len(a) != len(b) or any(sorted(x) != clips for x in list(a) + list(b)):
        raise ValueError('both arms need the same seeds and the same clips')

    def counts(arm):
        return np.array([[arm[s][c] for c in clips] for s in range(len(arm))],
                        np.float64)  # S×C×2

    ca, cb = counts(a), counts(b)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(clips), size=(n_boot, len(clips)))
    diffs = np.empty(n_boot)
    for i, sel in enumerate(idx):
        sa, sb = ca[:, sel].sum(1), cb[:, sel].sum(1)  # S×2
        with np.errstate(invalid='ignore', divide='ignore'):
            diffs[i] = np.mean(sa[:, 0] / sa[:, 1] - sb[:, 0] / sb[:, 1])
    diffs = diffs[np.isfinite(diffs)]
    q = (1 - level) / 2
    return float(np.quantile(diffs, q)), float(np.quantile(diffs, 1 - q))


def margin(gain_static_frame_over_init: float) -> float:
    """δ = max(0.01, 0.25 × G) (registered)."""
    return max(0.01, 0.25 * float(gain_static_frame_over_init))


def contrast(a_seeds: Sequence[float], b_seeds: Sequence[float],
             a_clips: Sequence[Mapping], b_clips: Sequence[Mapping],
             delta: float, **boot) -> dict:
    """One registered contrast: t statistics, TOST, bootstrap and their signs."""
    st = paired_t(a_seeds, b_seeds)
    st['boot95'] = bootstrap_clips(a_clips, b_clips, **boot)
    st['equivalent'] = equivalent(st, delta)
    st['above'] = bool(st['ci95'][0] > 0 and st['boot95'][0] > 0)
    st['below'] = bool(st['ci95'][1] < 0 and st['boot95'][1] < 0)
    return st


def decide(c: Mapping[str, Mapping]) -> str:
    """The registered decision from the contrasts of one encoder.

    Args:
        c (Mapping): ``{'sf_init', 'pico_sf', 'oracle_sf'}`` → :func:`contrast`
            results (Static(Frame) − init, PiCo − Static(Frame),
            PiCo-oracle − Static(Frame)).

    Returns:
        str: One of :data:`OUTCOMES`.
    """
    if not c['sf_init']['above']:
        return OUTCOMES[0]
    if c['pico_sf']['above']:
        return OUTCOMES[1]
    if c['pico_sf']['below']:
        return OUTCOMES[2]
    if c['pico_sf']['equivalent'] and c['oracle_sf']['equivalent']:
        return OUTCOMES[3]
    if c['oracle_sf']['above']:
        return OUTCOMES[4]
    return OUTCOMES[5]


def seeds_needed(stats: Mapping, delta: float) -> int:
    """Seeds a 95% t-interval of half-width ``delta`` needs at the observed std."""
    std = stats['std']
    for n in range(2, 1000):
        if _t_quantile(0.975, n - 1) * std / np.sqrt(n) < delta:
            return n
    return 1000

