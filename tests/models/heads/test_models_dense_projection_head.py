"""DenseProjectionHead: layer layout and shapes."""
import torch

from pico_mm.models.heads import DenseProjectionHead


def test_layout_defaults():
    head = DenseProjectionHead()
    assert head.conv1.in_channels == 128 and head.conv1.out_channels == 2048
    assert head.conv1.kernel_size == (1, 1) and head.conv1.bias is None
    assert isinstance(head.bn1, torch.nn.BatchNorm2d)
    assert head.bn1.num_features == 2048
    assert head.conv2.out_channels == 128 and head.conv2.kernel_size == (1, 1)


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
