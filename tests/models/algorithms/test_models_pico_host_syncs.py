"""Host synchronisations in one PiCo training step, counted on CPU
(``pico_host_syncs``: item, tolist, cpu, bool/int/float of a tensor,
nonzero, boolean-mask indexing, ...)."""
import pytest
import torch
from pico_host_syncs import count_host_syncs
from pico_tiny_model import build_tiny, sgd, tiny_batch


@pytest.fixture
def host_syncs(monkeypatch):
    """List of (operation, 'file:line function') seen during the test."""
    return count_host_syncs(monkeypatch.setattr)


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
