"""RAFT backend internals: precision choice, bf16 against fp32 on the MMFlow
fixture, the out-of-memory retry at half the batch, intermediate iterates,
host buffers."""
import os

import numpy as np
import pytest
import torch

from pico_mm.flow.backends import RAFTBackend, build_backend

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, '..', 'shared', 'fixtures', 'mmflow_raft')
CKPT = os.path.join(FIX, 'raft_mixed_seed0_state_dict.pth')


@pytest.fixture(scope='module')
def fixture_pair():
    d = np.load(os.path.join(FIX, 'padcase.npz'))
    return d['img1'][None], d['img2'][None]


def small_pairs(n=3, h=40, w=48, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    return a, np.roll(a, 2, axis=2)


def test_precision_defaults_and_choices():
    torch.set_num_threads(1)
    be = build_backend('raft', checkpoint=CKPT, iters=1, device='cpu')
    assert be.precision == 'fp32' and not be.bf16  # the default
    assert be.describe()['raft_precision'] == 'fp32'
    be16 = build_backend('raft', checkpoint=CKPT, iters=1, device='cpu',
                         precision='bf16')
    assert be16.bf16 and be16.describe()['raft_bf16'] is True
    assert RAFTBackend(CKPT, iters=1, device='cpu', bf16=True).precision == 'bf16'
    with pytest.raises(ValueError, match='precision'):
        RAFTBackend(CKPT, iters=1, device='cpu', precision='fp16')
    shape = (2, 8, 8, 3)
    buf = be.host_array(shape)  # pinned only on CUDA
    assert isinstance(buf, np.ndarray) and buf.shape == shape and buf.dtype == np.uint8


def test_bf16_stays_close_to_fp32_on_the_fixture(fixture_pair):
    """bf16 autocast on the CPU (the same autocast path as CUDA) against fp32
    at 12 iterations; docs/flow.md has the measured table."""
    torch.set_num_threads(1)
    f32 = RAFTBackend(CKPT, iters=12, device='cpu', precision='fp32')
    b16 = RAFTBackend(CKPT, iters=12, device='cpu', precision='bf16')
    a, b = fixture_pair
    (ff, fb), (bf, bb) = f32(a, b), b16(a, b)
    assert bf.dtype == np.float32 and bf.shape == ff.shape
    epe = np.sqrt(((np.concatenate([ff, fb]) - np.concatenate([bf, bb])) ** 2)
                  .sum(-1)).mean()
    # measured 0.33 px (random weights, flows of ~50 px; docs/flow.md)
    assert 0 < epe < 1.0, epe  # bf16 really ran, and stays near fp32


def test_iterates_match_shorter_runs():
    torch.set_num_threads(1)
    be = RAFTBackend(CKPT, iters=3, device='cpu')
    a, b = small_pairs(1, 128, 128)
    with torch.inference_mode():
        x, _ = be._normalise(a)
        y, _ = be._normalise(b)
        at = be.flow(x, y, checkpoints=(2, 3))
        be.iters = 2
        two = be.flow(x, y)
    assert len(at) == 2 and torch.equal(at[0], two)
    assert not torch.equal(at[0], at[1])


def test_out_of_memory_is_retried_once_at_half_the_batch(monkeypatch):
    torch.set_num_threads(1)
    be = RAFTBackend(CKPT, iters=1, device='cpu', batch_size=4)
    a, b = small_pairs(3)
    want = be(a, b)
    real, sizes = be.flow, []

    def limited(x, y, **kw):  # 2 images per pair (forward and backward)
        sizes.append(x.shape[0] // 2)
        if x.shape[0] > 4:
            raise torch.cuda.OutOfMemoryError('CUDA out of memory (injected)')
        return real(x, y, **kw)
    monkeypatch.setattr(be, 'flow', limited)
    got = be(a, b)
    assert sizes == [3, 2, 1]  # 3 pairs fail, then halves of 2 and 1
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-4)

    def always(x, y, **kw):
        sizes.append(x.shape[0] // 2)
        raise torch.cuda.OutOfMemoryError('CUDA out of memory (injected)')
    sizes.clear()
    monkeypatch.setattr(be, 'flow', always)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        be(a, b)
    assert sizes == [3, 2]  # one retry, then the error stops the job
