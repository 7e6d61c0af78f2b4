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


@pytest.fixture(scope='module')
def noisy_data(tmp_path_factory):
    """Tracks with varied consistency terms (noisy backward flow), extracted
    at the tool's default (the loosest shipped alpha/beta)."""
    return F.make_video_set(str(tmp_path_factory.mktemp('noisy')), 'video',
                            shifts=((3.0, 0.0), (0.0, -3.0), (2.0, 2.0)),
                            num_frames=30, noise=0.45)


def _dataset(path, data):
    cfg = Config.fromfile(path)
    init_default_scope('mmselfsup')
    return DATASETS.build(dict(
        cfg.train_dataloader.dataset, data_root='', ann_file=data['list'],
        data_prefix=dict(video=data['videos'], tracks=data['tracks']),
        pipeline=[]))


def _yield_stats(ds, n=120):
    """Mean track length, pairs/sample, frame gap, distinct frames per
    anchor and fraction of pair-less samples of ``n`` raw samples."""
    rng = np.random.default_rng(0)
    lengths = [ds._load_tracks(ds.get_data_info(i)).length.mean()
               for i in range(len(ds))]
    pairs, gaps, seen = [], [], {}
    for j in range(n):
        s = ds.prepare_sample(j % len(ds), rng)
        t1, t2 = s['frame_inds']
        pairs.append(len(s['points1']))
        gaps.append(abs(t2 - t1))
        seen.setdefault((j % len(ds), t1), set()).add(t2)
    return dict(length=np.mean(lengths), pairs=np.mean(pairs),
                gap=np.mean(gaps), empty=np.mean(np.array(pairs) == 0),
                per_anchor=np.mean([len(v) for v in seen.values()]))


BASE_K400 = osp.join(PICO, 'pico_r50-fpn_8xb32-coslr-100e_k400.py')


@pytest.mark.parametrize('path', ABLATIONS, ids=rel)
def test_ablation_changes_what_the_dataset_yields(path, noisy_data):
    """Behaviour, not keys: each ablation's dataset yields different tracks,
    frames or pairs than the base config, in the direction its name says."""
    base = _yield_stats(_dataset(BASE_K400, noisy_data))
    got = _yield_stats(_dataset(path, noisy_data))
    name = osp.basename(path)[:-3]
    value = name.rsplit('-', 1)[-1]
    if '_alpha-' in name or '_beta-' in name:
        key_base = 0.01 if '_alpha-' in name else 0.5
        if float(value) > key_base:
            assert got['length'] > base['length'] * 1.02, (got, base)
        else:
            assert got['length'] < base['length'] / 1.02, (got, base)
    elif '_k-' in name:
        k = int(value)
        if k < 4:
            assert got['per_anchor'] < base['per_anchor'], (got, base)
        else:
            assert got['per_anchor'] > base['per_anchor'], (got, base)
    else:  # random frames: drawn blind, some without any pair
        assert 'random-frames' in name
        assert base['empty'] == 0 and got['empty'] > 0.02, (got, base)
        assert got['gap'] != pytest.approx(base['gap'], rel=0.05)


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'static-' in p
                                  and p.endswith('_k400.py')], ids=rel)
def test_static_baselines_yield_picos_pairs_and_gaps(path, noisy_data):
    base = _yield_stats(_dataset(BASE_K400, noisy_data))
    got = _yield_stats(_dataset(path, noisy_data))
    assert got['pairs'] == pytest.approx(base['pairs'], rel=0.10)
    if 'static-video' in path:
        assert got['gap'] == pytest.approx(base['gap'], rel=0.10)
    else:
        assert got['gap'] == 0


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
