"""PiCoFPNNeck: output shape/stride, semantic-branch layout, mmdet FPN keys."""
import pytest
import torch

from pico_mm.models.necks import PiCoFPNNeck

IN_CH = (16, 32, 64, 128)
GN8 = dict(type='GN', num_groups=8, requires_grad=True)


def _feats(n=2, size=64, chans=IN_CH):
    return [torch.randn(n, c, size // s, size // s)
            for c, s in zip(chans, (4, 8, 16, 32))]


def _neck(**kw):
    cfg = dict(in_channels=IN_CH, fpn_channels=32, decoder_channels=16,
               out_channels=8, norm_cfg=GN8)
    cfg.update(kw)
    return PiCoFPNNeck(**cfg)


@pytest.mark.parametrize('size', [64, 96])
def test_output_is_stride_4(size):
    torch.set_num_threads(1)
    out = _neck()(_feats(size=size))
    assert isinstance(out, list) and len(out) == 1
    assert out[0].shape == (2, 8, size // 4, size // 4)


def test_defaults_match_contract():
    neck = PiCoFPNNeck()
    assert neck.in_channels == (256, 512, 1024, 2048)
    assert neck.fpn_channels == 256 and neck.decoder_channels == 128
    assert neck.out_channels == 128
    assert neck.scale_heads[0][0].gn.num_groups == 32


def test_semantic_branch_layout():
    neck = _neck()
    convs = [sum(1 for m in h if hasattr(m, 'conv'))
             for h in neck.scale_heads]
    assert convs == [1, 1, 2, 3]  # max(1, log2(stride) - 2)
    ups = [sum(isinstance(m, torch.nn.Upsample) for m in h)
           for h in neck.scale_heads]
    assert ups == [0, 1, 2, 3]
    block = neck.scale_heads[3][0]
    assert block.conv.kernel_size == (3, 3) and block.conv.bias is None
    assert isinstance(block.gn, torch.nn.GroupNorm)
    assert block.with_activation
    # FPN part: no norm, bias, no activation (like mmdet FPN).
    lat = neck.lateral_convs[0]
    assert lat.conv.kernel_size == (1, 1) and lat.conv.bias is not None
    assert not lat.with_norm and not lat.with_activation
    assert neck.fpn_convs[0].conv.kernel_size == (3, 3)


def test_fpn_keys_load_into_mmdet_fpn_and_agree():
    from mmdet.models.necks import FPN
    torch.manual_seed(0)
    neck = _neck()
    neck.init_weights()
    fpn = FPN(in_channels=list(IN_CH), out_channels=32, num_outs=4)
    fpn_sd = fpn.state_dict()
    ours = {k: v for k, v in neck.state_dict().items()
            if k.startswith(('lateral_convs.', 'fpn_convs.'))}
    assert set(ours) == set(fpn_sd)
    for k, v in ours.items():
        assert v.shape == fpn_sd[k].shape, k
    # The same weights under the 'neck.' prefix load strictly into FPN.
    ckpt = {'neck.' + k: v for k, v in neck.state_dict().items()}
    sub = {k[len('neck.'):]: v for k, v in ckpt.items()
           if k[len('neck.'):] in fpn_sd}
    fpn.load_state_dict(sub, strict=True)
    feats = _feats()
    with torch.no_grad():
        ref = fpn(tuple(feats))
        got = neck.fpn_forward(feats)
    assert len(ref) == len(got) == 4
    for a, b in zip(ref, got):
        assert torch.allclose(a, b, atol=1e-5)


def test_gradients_reach_every_parameter():
    neck = _neck()
    neck(_feats())[0].square().mean().backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='feature maps'):
        _neck()(_feats()[:3])
    with pytest.raises(ValueError, match='feature_strides'):
        PiCoFPNNeck(in_channels=(8, 8), feature_strides=(4, 8, 16))
