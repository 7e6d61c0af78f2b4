"""Every MMSeg benchmark config: 2 training iterations + 1 validation pass
through the real mmseg Runner on a tiny dataset in the real on-disk format,
with a ResNet-18 instead of the ResNet-50; frozen parts stay frozen."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import pico_eval_tiny_data as tiny  # tests/_helpers
from pico_own_tools import check_test_tools_reproduce  # tests/_helpers

bench = tiny.load_tool('tools/benchmark.py')
p2m = tiny.load_tool('tools/model_converters/pico2mm.py')

SEG = osp.join(tiny.REPO, 'configs', 'benchmarks', 'mmseg')
# config file -> (benchmark name for benchmark.py, dataset, expected metrics)
CASES = {}
for _name, _spec_ in bench.BENCHMARKS.items():
    if _spec_['task'] == 'seg':
        for _variant in ('pico', 'moco'):
            CASES[osp.basename(_spec_[_variant])] = (_name, _variant)


def test_every_mmseg_benchmark_config_is_tested():
    import glob
    files = {osp.basename(p) for p in glob.glob(osp.join(SEG, '*.py'))}
    assert files == set(CASES)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp('segdata')
    conv = tiny.load_tool('tools/dataset_converters/coco_panoptic2semantic.py')
    coco = tiny.make_coco_panoptic(str(root / 'coco'))
    assert conv.main([coco, '--no-progress']) == 0
    pico = str(root / 'pico.pth')
    tiny.make_pico_checkpoint(pico)
    moco = str(root / 'moco.pth.tar')
    tiny.make_moco_checkpoint(moco)
    exports = {}
    for name, src in (('pico', pico), ('moco', moco)):
        exports[name] = str(root / f'{name}_mmseg.pth')
        p2m.export(src, exports[name], 'mmseg')
    roots = dict(coco=coco, voc=tiny.make_voc(str(root / 'voc')),
                 cityscapes=tiny.make_cityscapes(str(root / 'cityscapes')),
                 nyu=tiny.make_nyu(str(root / 'nyu')))
    return roots, exports


@pytest.mark.parametrize('config', sorted(CASES))
def test_seg_benchmark_config_trains_validates_and_stays_frozen(
        config, data, tmp_path):
    name, variant = CASES[config]
    roots, exports = data
    cfg = Config.fromfile(osp.join(SEG, config))
    assert cfg.model.pretrained is None
    ch = tiny.tiny_seg_model(cfg)
    bench.set_checkpoint(cfg, 'seg', exports[variant])
    bench.set_data_root(cfg, roots[name])
    if name == 'nyu':
        tiny.make_tiny_run(cfg, scale=(128, 96))
    else:
        tiny.make_tiny_run(cfg)
    metrics, runner = bench.run_config(cfg, str(tmp_path),
                                       return_runner=True)
    print(config, metrics)
    if name == 'nyu':
        assert 'rmse' in metrics and metrics['rmse'] > 0
    else:
        assert {'mIoU', 'fIoU', 'aAcc'} <= set(metrics)
        assert 0 <= metrics['fIoU'] <= 100
    assert runner.iter == 2
    if config == osp.basename(bench.BENCHMARKS['cityscapes']['pico']):
        check_test_tools_reproduce('mmseg', cfg, runner, metrics,
                                   tmp_path)

    model = runner.model
    enc = model.backbone
    # BN statistics and weights are exactly the exported ones after training.
    saved = torch.load(exports[variant], map_location='cpu')['state_dict']
    for k, v in enc.state_dict().items():
        assert torch.equal(v.cpu(), saved[k]), k
    # One more training step by hand: no gradient reaches the frozen part,
    # the probe gets one; the encoder stays in eval mode under train().
    model.train()
    assert not any(m.training for m in enc.modules())
    batch = model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    loss, _ = model.parse_losses(model(**batch, mode='loss'))
    loss.backward()
    assert all(p.grad is None and not p.requires_grad
               for p in enc.parameters())
    head_params = list(model.decode_head.parameters())
    assert head_params and all(p.grad is not None for p in head_params)
    assert head_params[0].shape[1] == ch  # linear: one 1x1 conv on features
