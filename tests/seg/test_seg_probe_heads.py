"""LinearProbeHead, LinearDepthHead and FrozenDenseEncoder units."""
import pytest
import torch
from mmengine.structures import PixelData

import pico_mm.seg  # noqa: F401
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


@pytest.fixture(autouse=True)
def _mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def _samples(key, maps):
    out = []
    for m in maps:
        s = SegDataSample()
        s.set_data({key: PixelData(data=m)})
        out.append(s)
    return out


def test_linear_probe_head_is_one_1x1_conv_and_upsamples_to_labels():
    head = MODELS.build(dict(type='LinearProbeHead', in_channels=8,
                             num_classes=5))
    assert head.dropout is None
    convs = [m for m in head.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 and convs[0].kernel_size == (1, 1)
    feat = torch.randn(2, 8, 4, 4)
    logits = head((feat, ))
    assert logits.shape == (2, 5, 4, 4)
    labels = torch.randint(0, 5, (2, 1, 16, 16))
    labels[:, :, 0] = 255
    losses = head.loss((feat, ), _samples('gt_sem_seg', labels), {})
    assert losses['loss_ce'].ndim == 0 and losses['loss_ce'] > 0
    with pytest.raises(ValueError, match='fixed'):
        MODELS.build(dict(type='LinearProbeHead', in_channels=8,
                          num_classes=5, dropout_ratio=0.1))


def test_linear_depth_head_masked_l1_by_hand():
    head = MODELS.build(dict(type='LinearDepthHead', in_channels=2))
    with torch.no_grad():
        head.conv_depth.weight.copy_(torch.tensor([1., 0.]).view(1, 2, 1, 1))
        head.conv_depth.bias.zero_()
    feat = torch.zeros(1, 2, 2, 2)
    feat[0, 0] = torch.tensor([[1., 2.], [-3., 4.]])  # linear: -3 stays -3
    assert head((feat, ))[0, 0].tolist() == [[1., 2.], [-3., 4.]]
    gt = torch.tensor([[[[2., 0.], [1., 4.]]]])  # 0 = invalid (padding)
    loss = head.loss((feat, ), _samples('gt_depth_map', gt), {})
    # |1-2| + |-3-1| + |4-4| over the 3 valid pixels
    assert loss['loss_depth_l1'].item() == pytest.approx(5 / 3)
    pred = head.predict((feat, ), [dict(img_shape=(2, 2), pad_shape=(2, 2))],
                        {})
    assert pred.min().item() == pytest.approx(1e-3)  # clamped for metrics


def test_frozen_encoder_keeps_eval_and_no_grad():
    enc = MODELS.build(dict(
        type='FrozenDenseEncoder', backbone=dict(type='ResNet', depth=18),
        neck=dict(in_channels=[64, 128, 256, 512], fpn_channels=32,
                  decoder_channels=32, out_channels=16,
                  norm_cfg=dict(type='GN', num_groups=8))))
    enc.train()
    assert not any(m.training for m in enc.modules())
    stats = {k: v.clone() for k, v in enc.state_dict().items()}
    (emb, ) = enc(torch.randn(2, 3, 64, 48))
    assert emb.shape == (2, 16, 16, 12) and not emb.requires_grad
    for k, v in enc.state_dict().items():
        assert torch.equal(v, stats[k]), k
