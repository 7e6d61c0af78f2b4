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
