"""The tracker's flow feed: per-field clip decision and mask channel."""
import numpy as np
import pytest
import torch

from pico_mm.flow.codec import HALF_LEVELS, dequantize
from pico_mm.tracking.flow_feed import (FlowFeed, prepare_pair,
                                        saturation_level)

B = 20.0
CPU = torch.device('cpu')


def _decoded(codes_x, codes_y=None):
    """H×W×2 flow as the store decodes it from uint8 codes (ZERO = 128)."""
    qx = np.asarray(codes_x, np.uint8)
    qy = np.full_like(qx, 128) if codes_y is None else np.asarray(
        codes_y, np.uint8)
    return dequantize(np.stack([qx, qy], 2), B)


@pytest.mark.parametrize('as_tensor', [False, True])
def test_clipped_exactly_within_one_and_a_half_code_steps(as_tensor):
    """Codes 128 ± 126 and ± 127 (|v| >= B (1 - 1.5/127)) are clipped,
    ± 125 is not; only a clipped field has a mask, of its clipped pixels."""
    level = saturation_level(B)
    base = np.full((6, 7), 128, np.uint8)
    for code, clipped in [(128 + 125, False), (128 - 125, False),
                          (128 + 126, True), (128 - 126, True),
                          (128 + HALF_LEVELS, True), (1, True)]:
        q = base.copy()
        q[2, 3] = code
        fwd = _decoded(base, q)  # the y component carries the value
        bwd = _decoded(q)
        if as_tensor:
            fwd, bwd = torch.from_numpy(fwd), torch.from_numpy(bwd)
        pair = prepare_pair(fwd, bwd, level, CPU)
        for field, mask, flow in ((pair.fwd, pair.fwd_mask, _decoded(base, q)),
                                  (pair.bwd, pair.bwd_mask, _decoded(q))):
            assert field.shape == (1, 2, 6, 7)
            np.testing.assert_array_equal(
                field[0].permute(1, 2, 0).numpy(), flow)
            assert (mask is not None) == clipped, code
            if clipped:
                want = np.zeros((1, 1, 6, 7), np.float32)
                want[0, 0, 2, 3] = 1
                np.testing.assert_array_equal(mask.numpy(), want)
    off = prepare_pair(_decoded(base + 127), _decoded(base), None, CPU)
    assert off.fwd_mask is None and off.bwd_mask is None  # test disabled


def test_bad_field_shape_is_one_clear_error():
    with pytest.raises(ValueError, match='backward flow must be H×W×2'):
        prepare_pair(np.zeros((4, 5, 2), np.float32),
                     np.zeros((4, 5, 3), np.float32), saturation_level(B),
                     CPU)


@pytest.mark.parametrize('prefetch', [False, True])
def test_feed_calls_the_provider_once_per_pair_in_order(prefetch):
    calls = []

    def provider(t):
        calls.append(t)
        f = np.full((3, 4, 2), float(t), np.float32)
        return f, -f

    feed = FlowFeed(provider, 5, saturation_level(B), CPU, prefetch)
    try:
        got = [float(feed(t).fwd[0, 0, 0, 0]) for t in range(5)]
    finally:
        feed.close()
    assert got == [0.0, 1.0, 2.0, 3.0, 4.0] and calls == [0, 1, 2, 3, 4]
