"""Neutral frozen encoders of issue 19 (E1 MoCo-v2 on frames, E2 random + BN)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from pico_mm.demo.encoders import (dump_frames, file_sha256, iter_image_batches,
                                   recalibrate_bn, save_backbone)
from pico_mm.demo.synthetic import SceneConfig, render_video, write_video

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis', 'make_encoder.py')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp('enc_videos')
    cfg = SceneConfig(height=48, width=64, num_frames=8)
    return str(d), [write_video(render_video(s, cfg), str(d / f'v{s}'), fps=8)
                    for s in (0, 1)]


def test_recalibrate_bn_is_the_exact_data_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=0.3),
                        nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))
    net.eval()
    weights = {k: v.clone() for k, v in net.state_dict().items()
               if 'running' not in k and 'num_batches' not in k}
    batches = [torch.randn(5, 3, 8, 8) * 3 + 1 for _ in range(3)]
    n = recalibrate_bn(net, iter(batches))
    assert n == 15
    # Cumulative average over batches of each batch's statistics (momentum=None).
    with torch.no_grad():
        feats = [net[0](b) for b in batches]
    mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats]).mean(0)
    torch.testing.assert_close(net[1].running_mean, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net[1].running_var, var, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(net[4].running_var, torch.ones(2))
    for k, v in weights.items():
        assert torch.equal(net.state_dict()[k], v), k  # weights untouched
    assert not net.training and not net[1].training  # modes restored
    assert net[1].momentum == 0.3 and net[4].momentum == 0.1


def test_recalibrate_bn_refuses_no_bn_and_no_data():
    with pytest.raises(ValueError, match='no BatchNorm'):
        recalibrate_bn(nn.Conv2d(3, 3, 1), [torch.zeros(1, 3, 4, 4)])
    with pytest.raises(ValueError, match='no batch'):
        recalibrate_bn(nn.BatchNorm2d(3), [])


def test_dump_frames_layout_and_batches(videos, tmp_path):
    _, paths = videos
    frames = dump_frames(paths, str(tmp_path / 'frames'), fps=4, short_side=32)
    assert len(frames) == 2 * 4  # 8 frames at 8 fps -> 4 at 4 fps, per video
    assert {osp.basename(osp.dirname(f)) for f in frames} == {'v0', 'v1'}
    again = dump_frames(paths, str(tmp_path / 'frames'), fps=4, short_side=32)
    assert again == frames
    xs = list(iter_image_batches(frames, 24, 3))
    assert [x.shape[0] for x in xs] == [3, 3, 2]
    assert xs[0].shape[1:] == (3, 24, 24) and xs[0].dtype == torch.float32
    with pytest.raises(ValueError, match='no frames'):
        dump_frames([], str(tmp_path / 'none'))


def test_saved_backbone_loads_as_backbone_checkpoint(tmp_path):
    from mmselfsup.models.backbones import ResNet
    from pico_mm.models.utils.moco_checkpoint import load_moco_backbone
    torch.manual_seed(1)
    src = ResNet(depth=18)
    src.init_weights()
    path = save_backbone(src, str(tmp_path / 'e.pth'), kind='test')
    dst = ResNet(depth=18)
    load_moco_backbone(dst, path)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    assert len(file_sha256(path)) == 64


def _run_tool(*args):
    proc = subprocess.run([sys.executable, TOOL, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def test_cli_bn_random(videos, tmp_path):
    vdir, _ = videos
    out = _run_tool('bn-random', '--videos', vdir, '--work-dir', str(tmp_path),
                    '--fps', '4', '--short-side', '32', '--img-size', '32',
                    '--batch', '4')
    assert 'device cpu' in out
    meta = json.load(open(tmp_path / 'encoder.json'))
    assert meta['kind'] == 'bn-random' and meta['recalibrated_on'] == 8
    assert meta['sha256'] == file_sha256(str(tmp_path / 'encoder.pth'))
    state = torch.load(tmp_path / 'encoder.pth', weights_only=True)['state_dict']
    rm = state['backbone.bn1.running_mean']
    assert not torch.allclose(rm, torch.zeros_like(rm))  # recalibrated


def test_cli_mocov2_trains_with_mmselfsup_moco(videos, tmp_path):
    vdir, _ = videos
    _run_tool('mocov2', '--videos', vdir, '--work-dir', str(tmp_path), '--fps',
              '4', '--short-side', '32', '--img-size', '32', '--batch', '4',
              '--queue-len', '8', '--iters', '2')
    cfg_text = open(tmp_path / 'mocov2.py').read()
    assert "type='MoCo'" in cfg_text and 'MoCoV2Neck' in cfg_text
    meta = json.load(open(tmp_path / 'encoder.json'))
    assert meta['kind'] == 'mocov2' and meta['iters'] == 2
    trained = torch.load(meta['checkpoint'], map_location='cpu',
                         weights_only=False)['state_dict']
    enc = torch.load(tmp_path / 'encoder.pth', weights_only=True)['state_dict']
    for k, v in enc.items():
        assert torch.equal(trained[k], v), k  # the query backbone, unchanged
    assert not np.isnan(float(enc['backbone.conv1.weight'].sum()))


def test_cli_refuses_an_empty_video_folder(tmp_path):
    proc = subprocess.run([sys.executable, TOOL, 'bn-random', '--videos',
                           str(tmp_path), '--work-dir', str(tmp_path / 'w')],
                          cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert proc.returncode != 0
    assert 'no video files found' in proc.stderr


def test_cli_takes_rawframe_folders_and_refuses_a_folder_without_them(tmp_path):
    import cv2
    videos, raw = tmp_path / 'videos', tmp_path / 'raw'
    videos.mkdir()
    rng = np.random.default_rng(0)
    clip = np.zeros((8, 40, 48, 3), np.uint8)
    clip[:] = rng.integers(0, 255, (1, 40, 48, 3), dtype=np.uint8)
    video = write_video(list(clip), str(videos / 'a'), fps=10)
    for name in ('clip_b', 'clip_a'):
        (raw / name).mkdir(parents=True)
        for i in range(1, 13):
            cv2.imwrite(str(raw / name / f'img_{i:05d}.jpg'), clip[i % 8])
    (raw / 'notes').mkdir()  # not a rawframe folder: ignored
    work = tmp_path / 'w'
    proc = subprocess.run([sys.executable, TOOL, 'bn-random', '--videos',
                           str(videos), '--rawframes', str(raw),
                           '--rawframes-every', '6', '--img-size', '32',
                           '--work-dir', str(work)],
                          cwd=ROOT, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.load(open(work / 'encoder.json'))
    assert meta['videos'] == [osp.basename(video), 'clip_a', 'clip_b']
    # every 6th of 12 frames per rawframe folder
    assert sorted(os.listdir(work / 'frames' / 'clip_a')) == ['00000.jpg',
                                                              '00001.jpg']
    proc = subprocess.run([sys.executable, TOOL, 'bn-random', '--videos',
                           str(videos), '--rawframes', str(videos),
                           '--work-dir', str(tmp_path / 'w2')],
                          cwd=ROOT, text=True, capture_output=True, timeout=300)
    assert proc.returncode != 0
    assert 'no rawframe folders (<clip>/img_00001.jpg) found' in proc.stderr
    assert 'Traceback' not in proc.stderr
