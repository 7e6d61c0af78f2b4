"""LRUCache used for decoded frames / track files."""
import importlib.util
import os.path as osp

_PATH = osp.join(osp.dirname(__file__), '..', '..', 'pico_mm', 'datasets',
                 'lru_cache.py')
_spec = importlib.util.spec_from_file_location('pico_lru_cache', _PATH)
mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mod)


def test_evicts_least_recently_used_and_counts():
    c = mod.LRUCache(2)
    calls = []
    make = lambda k: (lambda: calls.append(k) or k * 10)  # noqa: E731
    assert c.get(1, make(1)) == 10 and c.get(2, make(2)) == 20
    assert c.get(1, make(1)) == 10  # hit, 1 becomes most recent
    c.put(3, 30)  # evicts 2
    assert 2 not in c and 1 in c and 3 in c and len(c) == 2
    assert c.get(2, make(2)) == 20  # recomputed
    assert calls == [1, 2, 2]
    assert c.hits == 1 and c.misses == 3


def test_zero_capacity_never_stores():
    c = mod.LRUCache(0)
    assert c.get('a', lambda: 1) == 1
    assert len(c) == 0 and c.peek('a') is None
