"""Host synchronisations in one PiCo training step, counted on CPU.

``torch.cuda.set_sync_debug_mode`` needs CUDA; on CPU every Python-level
operation that makes the host wait for a tensor's value on a GPU is counted
instead: ``item``, ``tolist``, ``cpu``, ``numpy``, ``bool``/``int``/
``float`` of a tensor, ``nonzero``, ``masked_select``, ``torch.equal``/
``allclose``, and indexing with a boolean mask (it runs ``nonzero``).
"""
import traceback

import pytest
import torch
from pico_tiny_model import build_tiny, sgd, tiny_batch

_METHODS = ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__int__',
            '__float__', '__index__', 'nonzero', 'masked_select')
_FUNCTIONS = ('nonzero', 'masked_select', 'equal', 'allclose', 'is_nonzero')


def _is_bool_index(index):
    items = index if isinstance(index, tuple) else (index, )
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool
               for i in items)


@pytest.fixture
def host_syncs(monkeypatch):
    """List of (operation, 'file:line function') seen while it is active."""
    seen = []
    active = [True]

    def record(name):
        if not active[0]:
            return
        active[0] = False  # do not count what the wrappers call themselves
        frame = traceback.extract_stack(limit=3)[0]  # the caller
        seen.append((name, f'{frame.filename.rsplit("/", 1)[-1]}:'
                     f'{frame.lineno} {frame.name}'))
        active[0] = True

    def wrap(owner, name, when=None):
        orig = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if when is None or when(*args):
                record(name)
            return orig(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    for name in _METHODS:
        wrap(torch.Tensor, name)
    for name in _FUNCTIONS:
        wrap(torch, name)
    wrap(torch.Tensor, '__getitem__', lambda self, index: _is_bool_index(index))
    wrap(torch.Tensor, '__setitem__',
         lambda self, index, *rest: _is_bool_index(index))
    seen.clear()
    yield seen
    active[0] = False


@pytest.mark.parametrize('head_on_points', [True, False])
def test_two_host_syncs_per_training_step(host_syncs, head_on_points):
    """Forward, loss, backward, SGD step, EMA and enqueue on one process
    wait for the device twice: the ``nonzero`` that sizes the pairs (the
    loss needs it) and one copy of all logged values to the host (mmengine's
    logger then reads them with ``.item()`` without waiting)."""
    model = build_tiny(head_on_points=head_on_points)
    model.train()
    optim = sgd(model)
    batch = tiny_batch(num_valid=(20, 13))
    del host_syncs[:]
    log = model.train_step(batch, optim)
    assert [name for name, _ in host_syncs] == ['nonzero', 'cpu'], host_syncs
    assert 'select_pairs' in host_syncs[0][1]
    assert 'parse_losses' in host_syncs[1][1]
    assert all(v.device.type == 'cpu' for v in log.values())
    assert torch.isfinite(log['loss'])


def test_counter_sees_the_usual_syncs(host_syncs):
    """The counter itself: each kind of synchronisation is seen."""
    t = torch.arange(4.0)
    t[0].item()
    bool(t.any())
    t[t > 1]
    int(t.sum())
    t.tolist()
    assert [n for n, _ in host_syncs] == [
        'item', '__bool__', '__getitem__', '__int__', 'tolist']
