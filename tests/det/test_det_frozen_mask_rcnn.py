"""Frozen Mask R-CNN benchmark configs through the real mmdet Runner: two
training iterations + one COCO validation pass on a tiny COCO-format set,
ResNet-18 instead of ResNet-50; backbone (and PiCo's FPN) stay frozen."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import pico_eval_tiny_data as tiny  # tests/_helpers
from pico_own_tools import check_test_tools_reproduce  # tests/_helpers

bench = tiny.load_tool('tools/benchmark.py')
p2m = tiny.load_tool('tools/model_converters/pico2mm.py')
DET = osp.join(tiny.REPO, 'configs', 'benchmarks', 'mmdet')
CASES = {osp.basename(bench.BENCHMARKS['maskrcnn'][v]): v
         for v in ('pico', 'moco')}


def test_every_mmdet_benchmark_config_is_tested():
    assert {osp.basename(p) for p in glob.glob(osp.join(DET, '*.py'))} == \
        set(CASES)


def test_frozen_fpn_stays_frozen_across_train():
    import pico_mm.det  # noqa: F401
    fpn = tiny.build('mmdet', dict(type='FrozenFPN', in_channels=[8, 16],
                                   out_channels=8, num_outs=3,
                                   norm_cfg=dict(type='BN')))
    fpn.train()
    assert not any(m.training for m in fpn.modules())
    assert not any(p.requires_grad for p in fpn.parameters())
    stats = {k: v.clone() for k, v in fpn.state_dict().items()}
    outs = fpn([torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)])
    assert len(outs) == 3 and not outs[0].requires_grad
    for k, v in fpn.state_dict().items():  # BN running stats unchanged
        assert torch.equal(v, stats[k]), k


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp('detdata')
    pico, moco = str(root / 'pico.pth'), str(root / 'moco.pth.tar')
    tiny.make_pico_checkpoint(pico)
    tiny.make_moco_checkpoint(moco)
    exports = dict(pico=str(root / 'pico_mmdet.pth'),
                   moco=str(root / 'moco_mmdet.pth'))
    p2m.export(pico, exports['pico'], 'mmdet')
    p2m.export(moco, exports['moco'], 'mmdet')
    return tiny.make_coco_instances(str(root / 'coco')), exports


def _tiny_cfg(config):
    """The benchmark config with a ResNet-18 and 32-channel FPN/heads."""
    cfg = Config.fromfile(osp.join(DET, config))
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.neck.out_channels = 32
    cfg.model.rpn_head.in_channels = 32
    cfg.model.rpn_head.feat_channels = 32
    cfg.model.roi_head.bbox_roi_extractor.out_channels = 32
    cfg.model.roi_head.bbox_head.in_channels = 32
    cfg.model.roi_head.bbox_head.fc_out_channels = 64
    cfg.model.roi_head.mask_roi_extractor.out_channels = 32
    cfg.model.roi_head.mask_head.in_channels = 32
    cfg.model.roi_head.mask_head.conv_out_channels = 32
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # keep detections after 2 iters
    return cfg


@pytest.mark.parametrize('config', sorted(CASES))
def test_mask_rcnn_config_trains_validates_and_stays_frozen(
        config, data, tmp_path):
    variant = CASES[config]
    root, exports = data
    cfg = _tiny_cfg(config)
    assert cfg.load_from is None  # the frozen weights never come from it
    cfg.resume = True  # `tools/train.py --resume` finding nothing to resume
    bench.set_checkpoint(cfg, 'det', exports[variant])
    bench.set_data_root(cfg, root)
    tiny.make_tiny_run(cfg, scale=(96, 96))
    cfg.train_dataloader.dataset.filter_cfg = dict(filter_empty_gt=True,
                                                   min_size=8)
    metrics, runner = bench.run_config(cfg, str(tmp_path),
                                       return_runner=True)
    print(config, metrics)
    assert runner.iter == 2
    assert {'coco/bbox_mAP', 'coco/segm_mAP_75'} <= set(metrics)
    if variant == 'pico':
        check_test_tools_reproduce('mmdet', cfg, runner, metrics,
                                   tmp_path)

    model = runner.model
    saved = torch.load(exports[variant], map_location='cpu')['state_dict']
    frozen = dict(backbone=model.backbone)
    if variant == 'pico':
        frozen['neck'] = model.neck
    assert type(model.neck).__name__ == ('FrozenFPN' if variant == 'pico'
                                         else 'FPN')
    for prefix, mod in frozen.items():
        own = mod.state_dict()
        for k, v in own.items():  # loaded, and unchanged by training
            assert torch.equal(v.cpu(), saved[f'{prefix}.{k}']), k
    model.train()
    batch = model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    loss, _ = model.parse_losses(model(**batch, mode='loss'))
    loss.backward()
    for mod in frozen.values():
        # every norm layer and every ResNet stage stays in eval mode
        assert not any(m.training for m in mod.modules()
                       if isinstance(m, torch.nn.modules.batchnorm._NormBase)
                       or type(m).__name__ == 'ResLayer')
        assert all(p.grad is None and not p.requires_grad
                   for p in mod.parameters())
    trained = [model.rpn_head, model.roi_head]
    if variant == 'moco':
        trained.append(model.neck)  # MoCo-v2 has no pretrained FPN
    for mod in trained:
        assert any(p.grad is not None for p in mod.parameters())


@pytest.mark.parametrize('config,export,error,match', [
    ('pico', None, FileNotFoundError, 'no checkpoint given'),
    ('pico', 'absent.pth', FileNotFoundError, 'absent.pth: checkpoint'),
    ('pico', 'moco', KeyError, r'missing keys \['),
    ('moco', 'pico', KeyError, r'unexpected keys \[.neck\.'),
])
def test_frozen_parts_load_strictly_at_init(config, export, error, match,
                                            data, tmp_path):
    """A missing or mismatched file is one error naming it, at init."""
    _, exports = data
    name = [c for c, v in CASES.items() if v == config][0]
    cfg = _tiny_cfg(name)
    path = exports.get(export, str(tmp_path / export) if export else None)
    cfg.model.frozen_checkpoint = path
    model = tiny.build('mmdet', cfg.model)
    with pytest.raises(error, match=match) as e:
        model.init_weights()
    assert len(str(e.value).splitlines()) == 1
    if path:
        assert path in str(e.value) and 'pico2mm.py' in str(e.value)
