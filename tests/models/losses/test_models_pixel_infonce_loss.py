"""PixelInfoNCELoss: value, masking, chunked == unchunked (value and grad)."""
import math

import pytest
import torch
import torch.nn.functional as F

from pico_mm.models.losses import PixelInfoNCELoss


def _data(m=6, c=5, length=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(m, c, generator=g), dim=1)
    k = F.normalize(torch.randn(m, c, generator=g), dim=1)
    queue = F.normalize(torch.randn(c, length, generator=g), dim=0)
    return q, k, queue


def _direct(q, k, queue, t):
    """-log(exp(q·k/t) / (exp(q·k/t) + Σ_j exp(q·n_j/t))), averaged."""
    total = 0.0
    for i in range(q.shape[0]):
        pos = math.exp(float(q[i] @ k[i]) / t)
        neg = sum(math.exp(float(q[i] @ queue[:, j]) / t)
                  for j in range(queue.shape[1]))
        total += -math.log(pos / (pos + neg))
    return total / q.shape[0]


@pytest.mark.parametrize('t', [0.2, 0.07, 1.0])
def test_value_matches_direct_computation(t):
    q, k, queue = _data()
    loss = PixelInfoNCELoss(temperature=t, chunk_size=0)(q, k, queue)
    assert loss.item() == pytest.approx(_direct(q, k, queue, t), rel=1e-5)


def test_matches_cross_entropy_formulation():
    q, k, queue = _data(m=9, c=8, length=33, seed=3)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue], 1) / 0.2
    ref = F.cross_entropy(logits, torch.zeros(9, dtype=torch.long))
    got = PixelInfoNCELoss(0.2, chunk_size=4)(q, k, queue)
    assert torch.allclose(got, ref, atol=1e-6)


def test_valid_mask_and_loss_weight():
    q, k, queue = _data()
    valid = torch.tensor([True, False, True, True, False, False])
    got = PixelInfoNCELoss(0.2, loss_weight=2.0)(q, k, queue, valid)
    ref = 2.0 * _direct(q[valid], k[valid], queue, 0.2)
    assert got.item() == pytest.approx(ref, rel=1e-5)


def test_no_valid_points_gives_zero_with_graph():
    q, k, queue = _data()
    q.requires_grad_(True)
    loss = PixelInfoNCELoss()(q, k, queue, torch.zeros(6, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(q.grad, torch.zeros_like(q))


@pytest.mark.parametrize('chunk', [1, 4, 5, 64])
def test_chunked_equals_unchunked_value_and_grads(chunk):
    q0, k0, queue = _data(m=13, c=8, length=50, seed=1)
    results = []
    for size in (0, chunk):
        q = q0.clone().requires_grad_(True)
        k = k0.clone().requires_grad_(True)
        loss = PixelInfoNCELoss(0.2, chunk_size=size)(q, k, queue)
        loss.backward()
        results.append((loss.detach(), q.grad, k.grad))
    (l0, gq0, gk0), (l1, gq1, gk1) = results
    assert torch.allclose(l0, l1, atol=1e-6)
    assert torch.allclose(gq0, gq1, atol=1e-6)
    assert torch.allclose(gk0, gk1, atol=1e-6)
    assert gq0.abs().sum() > 0


def test_gradient_is_correct_by_finite_differences():
    q, k, queue = _data(m=4, c=3, length=5, seed=2)
    q = q.double().requires_grad_(True)
    k, queue = k.double(), queue.double()
    loss_fn = PixelInfoNCELoss(0.5, chunk_size=3)
    assert torch.autograd.gradcheck(lambda x: loss_fn(x, k, queue), (q, ))


def test_queue_gets_no_gradient_and_shapes_checked():
    q, k, queue = _data()
    queue = queue.clone().requires_grad_(True)
    PixelInfoNCELoss(chunk_size=2)(q.requires_grad_(True), k, queue).backward()
    assert queue.grad is None
    with pytest.raises(ValueError, match='queue must be C×L'):
        PixelInfoNCELoss()(q, k, queue[:3])
    with pytest.raises(ValueError, match='temperature'):
        PixelInfoNCELoss(temperature=0)


def test_chunking_bounds_the_largest_tensor_in_forward_and_backward():
    """No op (forward, checkpoint recompute or backward) makes a tensor
    larger than one chunk of logits."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class MaxNumel(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.max = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else [out]):
                if isinstance(t, torch.Tensor):
                    self.max = max(self.max, t.numel())
            return out

    q0, k0, queue = _data(m=64, c=8, length=1000, seed=4)
    peaks = {}
    for size in (0, 4):
        q = q0.clone().requires_grad_(True)
        with MaxNumel() as mode:
            PixelInfoNCELoss(0.2, chunk_size=size)(q, k0, queue).backward()
        peaks[size] = mode.max
        assert q.grad is not None
    assert peaks[0] >= 64 * 1000
    # One chunk of logits (4×1000) or the queue itself (8×1000), never more.
    assert peaks[4] <= 8 * 1000, peaks


def test_chunked_forward_keeps_no_logits_for_backward():
    """Tensors kept for backward stay far below the full M×L logits."""
    q0, k0, queue = _data(m=64, c=8, length=1000, seed=5)
    kept = {}
    for size in (0, 4):
        seen = {}  # distinct storages (the queue is saved once per chunk)

        def pack(t, seen=seen):
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        q = q0.clone().requires_grad_(True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = PixelInfoNCELoss(0.2, chunk_size=size)(q, k0, queue)
        loss.backward()
        kept[size] = sum(seen.values()) // 4  # float32 elements
    assert kept[0] >= 64 * 1000
    assert kept[4] < 64 * 1000 // 4, kept
