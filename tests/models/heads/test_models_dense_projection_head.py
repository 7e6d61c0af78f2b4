"""DenseProjectionHead: layer layout, shapes and the BN option."""
import torch

import pico_mm.models.heads.dense_projection_head as head_mod
from pico_mm.models.heads import DenseProjectionHead


def test_layout_defaults_are_conv_relu_conv():
    """MoCo-v2's head: conv → ReLU → conv, no normalisation (issue 10.6)."""
    head = DenseProjectionHead()
    assert head.conv1.in_channels == 128 and head.conv1.out_channels == 2048
    assert head.conv1.kernel_size == (1, 1) and head.conv1.bias is not None
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                   for m in head.modules())
    assert head.conv2.out_channels == 128 and head.conv2.kernel_size == (1, 1)
    # train and eval mode compute the same function (nothing batch-dependent)
    x = torch.randn(4, 128, 3, 3)
    torch.testing.assert_close(head.train()(x), head.eval()(x))
    # ... and a position's output does not depend on the rest of the batch
    torch.testing.assert_close(head.train()(x[:1]), head.train()(x)[:1])


def test_bn_option_warns_on_one_process(monkeypatch):
    calls = []
    monkeypatch.setattr(head_mod, 'print_log',
                        lambda msg, **kw: calls.append((msg, kw)))
    head = DenseProjectionHead(16, 32, 8, norm_cfg=dict(type='BN'))
    assert isinstance(head.bn1, torch.nn.BatchNorm2d)
    assert head.conv1.bias is None
    head.train()(torch.randn(4, 16, 2, 2))
    head(torch.randn(4, 16, 2, 2))
    assert len(calls) == 1 and 'BatchNorm' in calls[0][0]
    assert calls[0][1]['level'] == 30
    DenseProjectionHead(16, 32, 8).train()(torch.randn(4, 16, 2, 2))
    assert len(calls) == 1  # no BN, no warning


def test_pointwise_shape_and_pointwise_behaviour():
    torch.manual_seed(0)
    head = DenseProjectionHead(16, 32, 8).eval()
    x = torch.randn(2, 16, 5, 7)
    y = head(x)
    assert y.shape == (2, 8, 5, 7)
    # 1×1 convs: each position only depends on its own input vector.
    x2 = x.clone()
    x2[:, :, 0, 0] += 1.0
    y2 = head(x2)
    assert not torch.allclose(y2[:, :, 0, 0], y[:, :, 0, 0])
    assert torch.allclose(y2[:, :, 1:], y[:, :, 1:])
