"""Codec: zero-exact, clip counting, quantisation error, no drift."""
import os

import cv2
import numpy as np
import pytest

from pico_mm.flow import FlowReader, FlowStoreWriter, dequantize, quantize
from pico_mm.flow.codec import (decode_flow, decode_jpeg, dither_offsets,
                                encode_flow, encode_jpeg)


def smooth_flow(h=128, w=160, seed=0, amp=15.0):
    """A smooth H×W×2 field within about ±amp px."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for c in range(2):
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 6)
        f = 0.5 * amp * np.sin(xx / (20 + 7 * c) + c) + amp * 0.3 * np.cos(yy / 17)
        f += noise / np.abs(noise).max() * amp * 0.2
        out.append(f)
    return np.stack(out, -1).astype(np.float32)


@pytest.mark.parametrize('dither', [(0.0, 0.0), (-0.5, 0.5), (0.4999, -0.4999)])
def test_zero_is_exact_through_jpeg(dither):
    for quality in (50, 95, 100):
        jx, jy, clipped = encode_flow(np.zeros((40, 56, 2), np.float32), 20.0,
                                      quality, dither)
        dec = decode_flow(jx, jy, 20.0)
        assert clipped == 0
        assert dec.dtype == np.float32
        assert np.all(dec == 0.0)


def test_dither_offsets_in_range_and_low_discrepancy():
    d = np.array([dither_offsets(t) for t in range(3000)])
    assert d.min() >= -0.5 and d.max() < 0.5
    assert len({tuple(r) for r in d[:8]}) == 8          # varies per pair
    # every window of 30 consecutive pairs covers [-0.5, 0.5) evenly
    for k in range(4):
        for s in range(0, 3000 - 30, 7):
            hist = np.histogram(d[s:s + 30, k], bins=5, range=(-0.5, 0.5))[0]
            assert hist.min() >= 4 and hist.max() <= 8, (k, s, hist)
    with pytest.raises(ValueError, match='dither'):
        quantize(np.zeros(3), 20.0, dither=0.7)


def test_dither_keeps_grid_values_and_cancels_steady_bias():
    grid = np.arange(-127, 128) * (20.0 / 127)
    for t in range(20):
        q, _ = quantize(grid, 20.0, dither_offsets(t)[0])
        assert np.allclose(dequantize(q, 20.0), grid, atol=1e-5)
    # a steady value between levels: without dither the same error every
    # step; with it the errors of 30 consecutive steps cancel
    v = np.linspace(-19.9, 19.9, 4001)
    plain = dequantize(quantize(v, 20.0)[0], 20.0) - v
    dith = np.mean([dequantize(quantize(v, 20.0, dither_offsets(t)[0])[0], 20.0) - v
                    for t in range(100, 130)], axis=0)
    step = 20.0 / 127
    assert np.abs(plain).max() > 0.45 * step
    assert np.abs(dith).max() < 0.1 * step


def test_code_is_symmetric_and_unbiased():
    v = np.linspace(-19.9, 19.9, 100001).astype(np.float32)
    q, clipped = quantize(v, 20.0)
    assert clipped == 0 and q.min() >= 1 and q.max() <= 255
    err = dequantize(q, 20.0) - v
    assert abs(err.mean()) < 1e-4           # unbiased
    assert np.abs(err).max() <= 20.0 / 127 / 2 + 1e-5
    qn, _ = quantize(-v, 20.0)
    assert np.array_equal(dequantize(qn, 20.0), -dequantize(q, 20.0))  # odd symmetry
    assert quantize(np.zeros(3), 20.0)[0].tolist() == [128, 128, 128]


def test_no_drift_after_300_chained_steps(tmp_path):
    # A static scene: 300 pairs of zero flow through the real store.
    path = str(tmp_path / 'static.zip')
    with FlowStoreWriter(path, bound=20.0, quality=95) as w:
        z = np.zeros((24, 32, 2), np.float32)
        for _ in range(300):
            w.add_pair(z, z)
        w.finish(fps=30, short_side=None, source='x', source_kind='video')
    pos = np.array([10.3, 7.6])
    with FlowReader(path) as r:
        for fwd, bwd in r:
            pos = pos + fwd[7, 10]
            assert np.all(bwd == 0)
    assert np.array_equal(pos, np.array([10.3, 7.6]))
    # The naive denseflow decode of the same code drifts: what this guards against.
    naive = 128 / 255 * 40 - 20
    assert abs(naive * 300) > 20


def test_clipping_is_counted():
    f = np.zeros((10, 10, 2), np.float32)
    f[0, :3, 0] = [25.0, -30.0, 20.0]   # two clip (|v| > B), B itself does not
    f[1, 0, 1] = np.inf
    q0, n0 = quantize(f[..., 0], 20.0)
    q1, n1 = quantize(f[..., 1], 20.0)
    assert n0 == 2 and n1 == 1
    assert q0[0, :3].tolist() == [255, 1, 255]
    assert dequantize(q0, 20.0)[0, 0] == pytest.approx(20.0)


def test_store_records_clip_fraction(tmp_path):
    path = str(tmp_path / 'c.zip')
    f = np.zeros((4, 5, 2), np.float32)
    f[0, 0] = (50.0, 0.0)
    with FlowStoreWriter(path, bound=20.0) as w:
        w.add_pair(f, np.zeros_like(f))
        meta = w.finish(fps=30, short_side=None, source='x', source_kind='video')
    assert meta['clipped_values'] == 1
    assert meta['clip_fraction'] == pytest.approx(1 / 80)


@pytest.mark.parametrize('seed', [0, 1])
def test_quantisation_rms_at_default_quality(tmp_path, seed):
    # through the real store (temporal dither on), over several pairs
    f = smooth_flow(seed=seed)
    assert np.abs(f).max() < 20
    path = str(tmp_path / 'rms.zip')
    with FlowStoreWriter(path, bound=20.0, quality=95) as w:
        for _ in range(6):
            w.add_pair(f, -f)
        meta = w.finish(fps=30, short_side=None, source='x', source_kind='video')
    assert meta['dither'] != 'none'
    with FlowReader(path) as r:
        err = np.stack([np.stack([fwd - f, bwd + f]) for fwd, bwd in r])
    rms = np.sqrt(np.mean(err ** 2))
    assert rms <= 0.1, rms
    assert np.abs(err).max() < 0.5


def test_corrupt_jpeg_member_named():
    data = encode_jpeg(np.full((8, 8), 128, np.uint8), 95)
    with pytest.raises(ValueError, match='vid.zip'):
        decode_jpeg(b'\x00' * 10 + data[:5], 'vid.zip')


def test_module_imports_without_openmmlab():
    import subprocess
    import sys
    code = ('import sys; sys.modules["mmengine"] = None; sys.modules["mmcv"] = None\n'
            'import importlib.util, pathlib\n'
            'import pico_mm.flow.store, pico_mm.flow.video, pico_mm.flow.backends\n'
            'import pico_mm.utils.batch_job\n'
            'assert "mmengine" not in [m for m in sys.modules if sys.modules[m]]\n')
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, '-c', code], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
