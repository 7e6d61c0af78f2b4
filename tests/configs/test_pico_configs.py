"""configs/pico: every config loads, its data section builds and yields a
sample, its model section names registered parts, and every ablation changes
exactly the one setting it is named after."""
import glob
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

import pico_mm  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmselfsup.registry import DATASETS, MODELS, TRANSFORMS

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'datasets'))
import pico_data_fixtures as F  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PICO = osp.join(REPO, 'configs', 'pico')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(PICO, '**', '*.py'), recursive=True)
    if '_base_' not in p.split(os.sep))
ABLATIONS = [p for p in CONFIGS if osp.sep + 'ablations' + osp.sep in p]


def rel(p):
    return osp.relpath(p, PICO)


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return F.make_video_set(str(tmp_path_factory.mktemp('cfgdata')),
                            'rawframes')


def test_expected_configs_exist():
    names = {rel(p) for p in CONFIGS}
    for ds in ('k400', 'yt8m-s'):
        for kind in ('pico', 'static-frame', 'static-video'):
            assert any(n.startswith(kind) and n.endswith(f'_{ds}.py')
                       for n in names), (kind, ds)
    assert 'pico_r18-fpn_tiny_cpu.py' in names
    for what in ('alpha', 'beta', '_k-', 'random-frames'):
        assert any(what in n for n in names if n.startswith('ablations')), what


@pytest.mark.parametrize('path', CONFIGS, ids=rel)
def test_config_data_section_builds_and_samples(path, tiny_data):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmselfsup'
    assert cfg.custom_imports == dict(imports=['pico_mm'],
                                      allow_failed_imports=False)
    init_default_scope('mmselfsup')
    dl = cfg.train_dataloader
    assert dl.collate_fn == dict(type='default_collate')
    for t in dl.dataset.pipeline:
        TRANSFORMS.build(t)
    for part in ('backbone', 'neck', 'head', 'loss'):
        assert MODELS.get(cfg.model[part].type) is not None, part
    assert MODELS.get(cfg.model.type) is not None
    ds_cfg = dict(dl.dataset, data_root='', ann_file=tiny_data['list'],
                  data_prefix=dict(video=tiny_data['videos'],
                                   tracks=tiny_data['tracks']))
    ds = DATASETS.build(ds_cfg)
    np.random.seed(0)
    out = ds[0]
    size = [t for t in dl.dataset.pipeline[0].transforms
            if t.type == 'PointRandomResizedCrop'][0].size
    size = (size, size) if isinstance(size, int) else tuple(size)
    assert tuple(out['inputs'][0].shape) == (3, ) + size
    assert out['inputs'][0].dtype == torch.uint8
    sample = out['data_samples']
    p = dl.dataset.pipeline[-1].num_points
    assert sample.points_q.shape == (p, 2) and sample.points_valid.any()


def _flat(d, prefix=''):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out


@pytest.mark.parametrize('path', ABLATIONS, ids=rel)
def test_ablation_changes_one_dataset_setting(path):
    cfg = Config.fromfile(path).to_dict()
    base = Config.fromfile(
        osp.join(PICO, 'pico_r50-fpn_8xb32-coslr-100e_k400.py')).to_dict()
    a, b = _flat(cfg), _flat(base)
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert len(diff) == 1, diff
    key = diff.pop()
    name = osp.basename(path)
    field = key.rsplit('.', 1)[-1]
    assert key.startswith('train_dataloader.dataset.')
    expect = {'alpha': '_alpha-', 'beta': '_beta-', 'k': '_k-',
              'frame_sampler': '_random-frames'}[field]
    assert expect in name
    if field != 'frame_sampler':
        assert name.endswith(f'{expect}{a[key]}.py')
    else:
        assert a[key] == 'random'


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'static-' in p],
                         ids=rel)
def test_static_baselines_only_change_the_sampler(path):
    cfg = Config.fromfile(path).to_dict()
    ds_name = 'k400' if path.endswith('_k400.py') else 'yt8m-s'
    base = Config.fromfile(
        osp.join(PICO, f'pico_r50-fpn_8xb32-coslr-100e_{ds_name}.py')).to_dict()
    a, b = _flat(cfg), _flat(base)
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert diff == {'train_dataloader.dataset.frame_sampler'}
    kind = osp.basename(path).split('_')[0].replace('-', '_')
    assert a['train_dataloader.dataset.frame_sampler'] == kind
