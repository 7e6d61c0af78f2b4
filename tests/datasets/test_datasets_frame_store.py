"""VideoCorrespondenceDataset reads frames from the flow store when it keeps
them, and falls back to the source video (one warning) when it does not."""
import os
import os.path as osp
import sys

import numpy as np
import pytest

import pico_mm  # noqa: F401
from mmengine.registry import init_default_scope
from mmselfsup.registry import DATASETS
from pico_mm.datasets import frame_source
from pico_mm.flow import load_frames, read_store_frames
from pico_mm.flow.extract import extract_video

sys.path.insert(0, osp.dirname(__file__))
import pico_data_fixtures as F  # noqa: E402


class ZeroFlow:
    """Backend stub: the dataset reads frames, not flow."""

    def __call__(self, f1, f2):
        z = np.zeros(f1.shape[:3] + (2, ), np.float32)
        return z, z

    def describe(self):
        return dict(backend='zero')


def write_stores(vs, flow_dir, frame_quality):
    for rel in vs['rel']:
        out = osp.join(flow_dir, osp.splitext(rel)[0] + '.zip')
        os.makedirs(osp.dirname(out), exist_ok=True)
        extract_video(osp.join(vs['videos'], rel), out, ZeroFlow(), 'video',
                      fps=30, short_side=F.H, frame_quality=frame_quality)


@pytest.fixture(scope='module')
def stores(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('store_set'))
    vs = F.make_video_set(root, 'video')
    write_stores(vs, osp.join(root, 'flow'), 90)
    write_stores(vs, osp.join(root, 'flow_old'), None)  # stores without frames
    return vs, root


@pytest.fixture
def warnings_seen(monkeypatch):
    seen = []
    monkeypatch.setattr(frame_source, '_warned', False)
    monkeypatch.setattr(frame_source, 'print_log',
                        lambda msg, **kw: seen.append(msg))
    return seen


def build(vs, flow=None, **kw):
    init_default_scope('mmselfsup')
    prefix = dict(video=vs['videos'], tracks=vs['tracks'])
    if flow:
        prefix['flow'] = flow
    return DATASETS.build(dict(type='VideoCorrespondenceDataset',
                               ann_file=vs['list'], data_prefix=prefix,
                               frame_cache_size=0, **kw))


def video_frames(vs, idx, inds):
    return load_frames(osp.join(vs['videos'], vs['rel'][idx]), inds, fps=30,
                       short_side=F.H)


def test_frames_come_from_the_store(stores, warnings_seen):
    vs, root = stores
    ds = build(vs, osp.join(root, 'flow'))
    for idx in range(len(ds)):
        s = ds.prepare_sample(idx, np.random.default_rng(idx))
        t1, t2 = s['frame_inds']
        want = read_store_frames(
            osp.join(root, 'flow', osp.splitext(vs['rel'][idx])[0] + '.zip'),
            [t1, t2])
        assert np.array_equal(s['img'], want[0]) and np.array_equal(s['img2'], want[1])
        # JPEG store frames are not the video decode: the store was really read
        assert not np.array_equal(s['img'], video_frames(vs, idx, [t1])[0])
    assert warnings_seen == []
    # through the full pipeline too
    data = ds[0]
    assert data['img'].shape == (F.H, F.W, 3)


def test_old_stores_and_missing_stores_fall_back_once(stores, warnings_seen):
    vs, root = stores
    for flow in (osp.join(root, 'flow_old'), osp.join(root, 'no_such_dir')):
        ds = build(vs, flow)
        for idx in (0, 1, 0):
            s = ds.prepare_sample(idx, np.random.default_rng(idx))
            t1, t2 = s['frame_inds']
            want = video_frames(vs, idx, [t1, t2])
            assert np.array_equal(s['img'], want[0])
            assert np.array_equal(s['img2'], want[1])
    assert len(warnings_seen) == 1
    msg = warnings_seen[0]
    assert 'keeps no frames' in msg and 'slow' in msg
    assert 'tools/data/preprocess.py' in msg and 'data_prefix.flow' in msg


def test_frame_store_off_decodes_the_video(stores, warnings_seen):
    vs, root = stores
    ds = build(vs, osp.join(root, 'flow'), frame_store=False)
    s = ds.prepare_sample(0, np.random.default_rng(0))
    t1 = s['frame_inds'][0]
    assert np.array_equal(s['img'], video_frames(vs, 0, [t1])[0])
    assert len(warnings_seen) == 1 and 'no flow store found' in warnings_seen[0]


def test_store_found_through_the_tracks_flow_path(stores, tmp_path, warnings_seen):
    """No data_prefix.flow: the track meta's flow_path locates the store."""
    from pico_mm.tracking import load_tracks, save_tracks
    vs, root = stores
    tdir = tmp_path / 'tracks'
    for rel in vs['rel']:
        name = osp.splitext(rel)[0] + '.npz'
        tr = load_tracks(osp.join(vs['tracks'], name))
        tr.meta['flow_path'] = osp.join(root, 'flow', osp.splitext(rel)[0] + '.zip')
        save_tracks(str(tdir / name), tr)
    ds = build(dict(vs, tracks=str(tdir)))
    s = ds.prepare_sample(1, np.random.default_rng(3))
    t1 = s['frame_inds'][0]
    want = read_store_frames(osp.join(root, 'flow', 'cls1', 'vid1.zip'), [t1])[0]
    assert np.array_equal(s['img'], want) and warnings_seen == []


def test_static_sampler_without_tracks_uses_the_store(stores, warnings_seen):
    vs, root = stores
    ds = build(dict(vs, tracks=''), osp.join(root, 'flow'),
               frame_sampler='static_video')
    info = ds.get_data_info(0)
    assert ds._video_length(info, None) == F.T
    s = ds.prepare_sample(0, np.random.default_rng(0))
    t1, t2 = s['frame_inds']
    want = read_store_frames(osp.join(root, 'flow', 'cls0', 'vid0.zip'), [t1, t2])
    assert np.array_equal(s['img'], want[0]) and np.array_equal(s['img2'], want[1])
    assert warnings_seen == []
