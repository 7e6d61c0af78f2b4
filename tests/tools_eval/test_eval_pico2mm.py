"""Export (tools/model_converters/pico2mm.py) → strict load downstream."""
import os.path as osp

import pytest
import torch

import pico_eval_tiny_data as tiny  # tests/_helpers

p2m = tiny.load_tool('tools/model_converters/pico2mm.py')

R18 = dict(type='ResNet', depth=18)
R18_DILATED = dict(type='ResNet', depth=18, strides=(1, 1, 1, 1),
                   dilations=(1, 2, 4, 8), out_indices=(3, ),
                   contract_dilation=True)


@pytest.fixture(scope='module')
def pico_ckpt(tmp_path_factory):
    torch.set_num_threads(1)
    path = str(tmp_path_factory.mktemp('pico') / 'epoch_1.pth')
    return path, tiny.make_pico_checkpoint(path)


def _saved(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def test_pico_to_mmseg_zero_missing_zero_unexpected(pico_ckpt, tmp_path):
    from pico_mm.seg import FrozenDenseEncoder
    src, state = pico_ckpt
    dst = str(tmp_path / 'pico_mmseg.pth')
    assert p2m.main([src, dst, '--target', 'mmseg']) == 0
    out = _saved(dst)['state_dict']  # loads with weights_only=True
    assert not [k for k in out if not k.startswith(('backbone.', 'neck.'))]
    # Real strict load through the runtime path (init_weights) ...
    enc = FrozenDenseEncoder(backbone=R18, neck=tiny.TINY_NECK,
                             checkpoint=dst)
    enc.init_weights()
    # ... and explicitly: torch reports no missing / unexpected key.
    res = enc.load_state_dict(out, strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    own = enc.state_dict()
    assert set(own) == {k for k in state
                        if k.startswith(('backbone.', 'neck.'))}
    for k, v in own.items():
        assert torch.equal(v, state[k]), k
    assert _saved(dst)['meta']['pico_mm_export']['depth'] == 18


def test_pico_to_mmdet_backbone_and_fpn_load_and_match(pico_ckpt, tmp_path):
    import pico_mm.det  # noqa: F401

    from pico_mm.models.necks import PiCoFPNNeck
    src, state = pico_ckpt
    dst = str(tmp_path / 'pico_mmdet.pth')
    assert p2m.main([src, dst, '--target', 'mmdet']) == 0
    out = _saved(dst)['state_dict']
    backbone = tiny.build('mmdet', dict(type='ResNet', depth=18,
                                        frozen_stages=4, norm_eval=True))
    fpn = tiny.build('mmdet', dict(type='FrozenFPN',
                                   in_channels=[64, 128, 256, 512],
                                   out_channels=32, num_outs=5))
    for prefix, mod in (('backbone.', backbone), ('neck.', fpn)):
        part = {k[len(prefix):]: v for k, v in out.items()
                if k.startswith(prefix)}
        res = mod.load_state_dict(part, strict=True)
        assert not res.missing_keys and not res.unexpected_keys
    assert len(out) == len(backbone.state_dict()) + len(fpn.state_dict())
    # The frozen FPN computes exactly the FPN part of PiCo's neck.
    neck = PiCoFPNNeck(**tiny.TINY_NECK)
    neck.load_state_dict({k[5:]: v for k, v in state.items()
                          if k.startswith('neck.')})
    x = torch.randn(1, 3, 64, 64)
    backbone.eval()
    with torch.no_grad():
        feats = backbone(x)
        ours, ref = fpn(feats), neck.fpn_forward(feats)
    assert len(ours) == 5
    for a, b in zip(ours[:4], ref):
        torch.testing.assert_close(a, b)


def test_moco_original_format_exports_for_both(tmp_path):
    import pico_mm.det  # noqa: F401

    from pico_mm.seg import FrozenDenseEncoder
    src = str(tmp_path / 'moco_v2_800ep.pth.tar')
    tv_state = tiny.make_moco_checkpoint(src)
    seg, det = str(tmp_path / 'moco_mmseg.pth'), str(tmp_path / 'moco_det.pth')
    assert p2m.main([src, seg, '--target', 'mmseg']) == 0
    assert p2m.main([src, det, '--target', 'mmdet', '--source', 'moco']) == 0
    out = _saved(seg)['state_dict']
    assert not [k for k in out if 'fc' in k or 'encoder_k' in k or 'queue'
                in k]
    for k, v in out.items():  # query encoder, unchanged values
        assert torch.equal(v, tv_state[k[len('backbone.'):]]), k
    enc = FrozenDenseEncoder(backbone=R18_DILATED, checkpoint=seg)
    enc.init_weights()
    feats = enc(torch.randn(1, 3, 32, 32))
    assert feats[0].shape == (1, 512, 8, 8)  # dilated: output stride 4
    backbone = tiny.build('mmdet', dict(type='ResNet', depth=18))
    part = {k[9:]: v for k, v in _saved(det)['state_dict'].items()}
    res = backbone.load_state_dict(part, strict=True)
    assert not res.missing_keys and not res.unexpected_keys


def test_wrong_checkpoint_for_encoder_is_an_error_not_a_silent_skip(
        pico_ckpt, tmp_path):
    from pico_mm.seg import FrozenDenseEncoder
    src, _ = pico_ckpt
    det = str(tmp_path / 'pico_mmdet.pth')
    assert p2m.main([src, det, '--target', 'mmdet']) == 0
    enc = FrozenDenseEncoder(backbone=R18, neck=tiny.TINY_NECK,
                             checkpoint=det)  # lacks the decoder weights
    with pytest.raises(KeyError, match='missing keys.*neck.scale_heads'):
        enc.init_weights()


@pytest.mark.parametrize('case', ['missing', 'truncated', 'no_resnet',
                                  'not_pico'])
def test_bad_input_gives_one_clear_error_line(case, pico_ckpt, tmp_path,
                                              capsys):
    src = str(tmp_path / 'in.pth')
    args = ['--target', 'mmseg']
    if case == 'truncated':
        data = open(pico_ckpt[0], 'rb').read()
        open(src, 'wb').write(data[:len(data) // 2])
    elif case == 'no_resnet':
        torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, src)
    elif case == 'not_pico':
        tiny.make_moco_checkpoint(src)
        args += ['--source', 'pico']
    dst = str(tmp_path / 'out.pth')
    assert p2m.main([src, dst] + args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and src in err[0], err
    expect = dict(missing='no such file', truncated='truncated',
                  no_resnet='no ResNet found', not_pico='--source moco')
    assert expect[case] in err[0]
    assert not osp.exists(dst)


def test_real_pico_model_state_dict_exports_and_loads(tmp_path):
    """The PiCo algorithm itself (pico_mm.models, tiny CPU config) → export
    → mmseg encoder and mmdet backbone/FPN: zero missing/unexpected keys."""
    import pico_mm.det  # noqa: F401
    from mmengine.config import Config
    from mmselfsup.registry import MODELS as SSL_MODELS

    from pico_mm.seg import FrozenDenseEncoder
    cfg = Config.fromfile(osp.join(tiny.REPO,
                                   'configs/pico/pico_r18-fpn_tiny_cpu.py'))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmselfsup'):
        model = SSL_MODELS.build(cfg.model)
    state = model.state_dict()
    assert any(k.startswith('encoder_k.') for k in state)
    src = str(tmp_path / 'iter_10.pth')
    torch.save(dict(meta=dict(iter=10), state_dict=state), src)
    seg, det = str(tmp_path / 'seg.pth'), str(tmp_path / 'det.pth')
    assert p2m.main([src, seg, '--target', 'mmseg']) == 0
    assert p2m.main([src, det, '--target', 'mmdet']) == 0
    neck = {k: v for k, v in cfg.model.neck.items() if k != 'type'}
    enc = FrozenDenseEncoder(backbone=dict(type='ResNet', depth=18),
                             neck=neck, checkpoint=seg)
    enc.init_weights()  # strict
    for k, v in enc.state_dict().items():
        assert torch.equal(v, state[k]), k
    out = _saved(det)['state_dict']
    backbone = tiny.build('mmdet', dict(type='ResNet', depth=18))
    fpn = tiny.build('mmdet', dict(type='FrozenFPN',
                                   in_channels=list(neck['in_channels']),
                                   out_channels=neck['fpn_channels'],
                                   num_outs=5))
    for prefix, mod in (('backbone.', backbone), ('neck.', fpn)):
        res = mod.load_state_dict({k[len(prefix):]: v for k, v in out.items()
                                   if k.startswith(prefix)}, strict=True)
        assert not res.missing_keys and not res.unexpected_keys
