"""MoCo-v2 checkpoint loading: mmselfsup + original formats, loud failures."""
import pytest
import torch
import torchvision
from mmselfsup.registry import MODELS

from pico_mm.models.utils import convert_moco_state_dict, load_moco_backbone


def _resnet18(width=16):
    return MODELS.build(
        dict(type='mmselfsup.ResNet', depth=18, stem_channels=width,
             base_channels=width, out_indices=(1, 2, 3, 4)))


def _randomised(module):
    gen = torch.Generator().manual_seed(1)
    return {k: (torch.randn(v.shape, generator=gen)
                if v.is_floating_point() else v.clone())
            for k, v in module.state_dict().items()}


def _assert_loaded(backbone, state):
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_mmselfsup_full_checkpoint(tmp_path):
    src = _randomised(_resnet18())
    ckpt = {'meta': {'epoch': 200},
            'state_dict': {**{'backbone.' + k: v for k, v in src.items()},
                           'neck.mlp.0.weight': torch.zeros(3),
                           'encoder_k.module.0.conv1.weight': torch.zeros(1),
                           'queue': torch.zeros(2, 2)}}
    path = tmp_path / 'mocov2_mmselfsup.pth'
    torch.save(ckpt, path)
    target = _resnet18()
    info = load_moco_backbone(target, str(path))
    assert info['loaded'] == len(src)
    _assert_loaded(target, src)


def test_extracted_backbone_weights(tmp_path):
    src = _randomised(_resnet18())
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': src, 'author': 'MMSelfSup'}, path)
    target = _resnet18()
    load_moco_backbone(target, str(path))
    _assert_loaded(target, src)


def test_original_moco_release_format(tmp_path):
    """torchvision ResNet-18 saved like moco_v2_800ep_pretrain.pth.tar."""
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None)
    tv.fc = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 128))  # MoCo-v2 MLP
    sd = tv.state_dict()
    ckpt = {'epoch': 800, 'arch': 'resnet18',
            'state_dict': {**{'module.encoder_q.' + k: v
                              for k, v in sd.items()},
                           **{'module.encoder_k.' + k: v * 0
                              for k, v in sd.items()},
                           'module.queue': torch.zeros(128, 8),
                           'module.queue_ptr': torch.zeros(1)},
            'optimizer': {'state': {}, 'param_groups': []}}
    path = tmp_path / 'moco_v2_800ep_pretrain.pth.tar'
    torch.save(ckpt, path)
    converted = convert_moco_state_dict(torch.load(path))
    assert not any(k.startswith('fc.') for k in converted)
    target = _resnet18(width=64)
    load_moco_backbone(target, str(path))
    for k, v in target.state_dict().items():
        assert torch.equal(v, sd[k]), k
    # Same outputs as the torchvision network's stages (layer1..layer4).
    tv.eval()
    target.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        h = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        ref = []
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            h = layer(h)
            ref.append(h)
        out = target(x)
    assert len(out) == 4
    for a, b in zip(out, ref):
        assert torch.allclose(a, b, atol=1e-5)


def test_missing_keys_fail_loudly(tmp_path):
    src = _randomised(_resnet18())
    partial = {'backbone.' + k: v for k, v in src.items()
               if not k.startswith('layer4.')}
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': partial}, path)
    with pytest.raises(KeyError, match=r'missing keys \[layer4\.0\.conv1'):
        load_moco_backbone(_resnet18(), str(path))


def test_wrong_architecture_fails_loudly(tmp_path):
    path = tmp_path / 'wide.pth'
    torch.save({'state_dict': _randomised(_resnet18(width=32))}, path)
    with pytest.raises(ValueError, match='wrong shapes'):
        load_moco_backbone(_resnet18(width=16), str(path))
    r34 = MODELS.build(dict(type='mmselfsup.ResNet', depth=34,
                            stem_channels=16, base_channels=16,
                            out_indices=(1, 2, 3, 4)))
    with pytest.raises(KeyError, match='unexpected keys'):
        path34 = tmp_path / 'r34.pth'
        torch.save(r34.state_dict(), path34)
        load_moco_backbone(_resnet18(), str(path34))


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_moco_backbone(_resnet18(), str(tmp_path / 'nope.pth'))
    good = tmp_path / 'good.pth'
    torch.save(_randomised(_resnet18()), good)
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(RuntimeError, match='truncated'):
        load_moco_backbone(_resnet18(), str(bad))
