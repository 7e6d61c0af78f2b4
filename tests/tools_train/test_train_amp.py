"""tools/train.py --amp [--amp-dtype {float16,bfloat16}]: the optimiser
wrapper it configures, and a PiCo step under bfloat16 autocast on CPU.

mmengine's ``AmpOptimWrapper`` refuses to be built without a GPU (NPU, MLU
or MUSA): its constructor asserts ``is_cuda_available()``. Its autocast
context does support the CPU in bfloat16, so the wrapper is built here with
that check answered True; nothing else is changed.
"""
import os.path as osp
import runpy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from pico_tiny_model import build_tiny, tiny_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = runpy.run_path(osp.join(REPO, 'tools', 'train.py'))
K400 = osp.join(REPO, 'configs', 'pico',
                'pico_r50-fpn_8xb32-coslr-100e_k400.py')


def _cfg(*flags):
    return TRAIN['build_cfg'](TRAIN['parse_args']([K400, *flags]))


@pytest.fixture
def cuda_check_passes(monkeypatch):
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)


def test_amp_bfloat16_builds_bf16_wrapper_without_loss_scale(
        cuda_check_passes):
    cfg = _cfg('--amp', '--amp-dtype', 'bfloat16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    wrapper = build_optim_wrapper(build_tiny(), cfg.optim_wrapper)
    assert type(wrapper).__name__ == 'AmpOptimWrapper'
    assert wrapper.cast_dtype is torch.bfloat16
    assert not wrapper.loss_scaler.is_enabled()  # bf16 needs no scaling


def test_amp_defaults_to_float16_with_dynamic_loss_scale(cuda_check_passes):
    cfg = _cfg('--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert 'dtype' not in cfg.optim_wrapper  # mmengine: float16 on CUDA
    cfg = _cfg('--amp', '--amp-dtype', 'float16')
    wrapper = build_optim_wrapper(build_tiny(), cfg.optim_wrapper)
    assert wrapper.cast_dtype is torch.float16
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert _cfg().optim_wrapper.type == 'OptimWrapper'


def test_amp_dtype_without_amp_is_an_error():
    with pytest.raises(SystemExit, match='add --amp'):
        _cfg('--amp-dtype', 'bfloat16')


def test_pico_step_under_bf16_autocast_on_cpu(cuda_check_passes):
    """The wrapper's own optim_context (bf16 autocast on CPU), then its
    update: finite loss, the neck ran in bf16, parameters moved."""
    model = build_tiny()
    model.train()
    cfg = _cfg('--amp', '--amp-dtype', 'bfloat16')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    dtypes = []
    model.neck.register_forward_hook(
        lambda mod, inp, out: dtypes.append(out[0].dtype))
    before = [p.detach().clone() for p in model.neck.parameters()]
    log = model.train_step(tiny_batch(), wrapper)
    assert torch.isfinite(log['loss']) and log['loss'] > 0
    assert dtypes and dtypes[0] is torch.bfloat16
    assert any(not torch.equal(b, p)
               for b, p in zip(before, model.neck.parameters()))
