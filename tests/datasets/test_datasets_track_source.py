"""The dataset reads format-2 track files by offset and old ones with a
one-time warning; both give the same samples."""
import glob
import os.path as osp
import sys

import numpy as np
import pytest
import torch

import pico_mm  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmselfsup.registry import DATASETS

from pico_mm.datasets import track_source
from pico_mm.tracking import TrackIndex, load_tracks, save_tracks
from pico_mm.tracking.track_format import SHIPPED_SWEEP

sys.path.insert(0, osp.dirname(__file__))
import pico_data_fixtures as F  # noqa: E402

torch.set_num_threads(1)
ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


@pytest.fixture(scope='module')
def two_formats(tmp_path_factory):
    """One video set, its tracks in format 1 (``tracks``) and converted by
    the tool into format 2 (``tracks_v2``); 30 frames, noisy backward flow
    so that the configs' stricter alpha/beta cut tracks."""
    root = str(tmp_path_factory.mktemp('fmt'))
    vs = F.make_video_set(root, 'rawframes', num_frames=30, noise=0.4,
                          shifts=((1.0, 0.0), (0.0, -1.0), (0.7, 0.5)))
    for path in glob.glob(osp.join(vs['tracks'], '**', '*.npz'),
                          recursive=True):  # what older tools wrote
        save_tracks(path, load_tracks(path), version=1)
    from pico_test_tools import ToolRunner
    tool = ToolRunner(osp.join(ROOT, 'tools/data/convert_tracks.py'),
                      'convert_tracks_ds', extra_args=['--no-progress'])
    res = tool.run(vs['tracks'], osp.join(root, 'tracks_v2'))
    assert res.returncode == 0, res.stderr
    return vs, osp.join(root, 'tracks_v2')


@pytest.fixture
def warnings_seen(monkeypatch):
    seen = []
    monkeypatch.setattr(track_source, '_warned_old', False)
    monkeypatch.setattr(track_source, 'print_log',
                        lambda msg, **kw: seen.append(msg))
    return seen


def build(vs, tracks, **kw):
    init_default_scope('mmselfsup')
    return DATASETS.build(dict(
        type='VideoCorrespondenceDataset', ann_file=vs['list'],
        data_prefix=dict(video=vs['videos'], tracks=tracks),
        frame_cache_size=0, track_cache_size=0, **kw))


@pytest.mark.parametrize('sampler',
                         ['anchor', 'random', 'static_video', 'static_frame'])
def test_old_and_converted_files_give_the_same_samples(
        two_formats, warnings_seen, sampler):
    vs, v2 = two_formats
    old = build(vs, vs['tracks'], frame_sampler=sampler, alpha=0.01,
                beta=0.5)
    new = build(vs, v2, frame_sampler=sampler, alpha=0.01, beta=0.5)
    assert isinstance(new._load_tracks(new.get_data_info(0)), TrackIndex)
    pairs = 0
    for seed in range(12):
        for idx in range(len(old)):
            a = old.prepare_sample(idx, np.random.default_rng(seed))
            b = new.prepare_sample(idx, np.random.default_rng(seed))
            assert a['frame_inds'] == b['frame_inds']
            for key in ('img', 'img2', 'points1', 'points2'):
                np.testing.assert_array_equal(a[key], b[key])
            if 'points2_budget' in a:
                np.testing.assert_array_equal(a['points2_budget'],
                                              b['points2_budget'])
            pairs += len(a['points1'])
    assert pairs > 100
    # the old files warned once, saying how to convert them
    assert len(warnings_seen) == 1
    assert 'format-1' in warnings_seen[0]
    assert 'tools/data/convert_tracks.py' in warnings_seen[0]


def test_converted_files_do_not_warn(two_formats, warnings_seen):
    vs, v2 = two_formats
    ds = build(vs, v2)
    for i in range(len(ds)):
        ds.prepare_sample(i, np.random.default_rng(i))
    assert warnings_seen == []


def test_every_shipped_config_reads_a_stored_sweep_point():
    """No shipped config pays for re-thresholding at all: its (alpha, beta)
    is one of the tables format 2 stores."""
    cfgs = glob.glob(osp.join(ROOT, 'configs/pico/**/*.py'), recursive=True)
    seen = set()
    for path in cfgs:
        if '_base_' in path or 'tiny' in path:
            continue
        ds = Config.fromfile(path).train_dataloader.dataset
        seen.add((ds.alpha, ds.beta))
    assert len(seen) >= 5 and seen <= set(SHIPPED_SWEEP), seen
