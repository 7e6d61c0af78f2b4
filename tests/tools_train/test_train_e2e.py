"""End to end: tools/train.py on the tiny CPU config, then --resume."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'datasets'))
import pico_data_fixtures as F  # noqa: E402

CONFIG = osp.join(REPO, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')


def train(work_dir, data, max_iters, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [
        sys.executable, osp.join(REPO, 'tools', 'train.py'), CONFIG,
        '--work-dir', work_dir, *extra, '--cfg-options',
        'train_dataloader.dataset.data_root=',
        f'train_dataloader.dataset.ann_file={data["list"]}',
        f'train_dataloader.dataset.data_prefix.video={data["videos"]}',
        f'train_dataloader.dataset.data_prefix.tracks={data["tracks"]}',
        f'train_cfg.max_iters={max_iters}'
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def scalars(work_dir):
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return F.make_video_set(
        str(tmp_path_factory.mktemp('e2e')), 'rawframes',
        shifts=((1.0, 0.0), (0.0, 1.0), (-1.0, 0.5), (1.0, 1.0)),
        num_frames=16)


def test_train_then_resume(tmp_path, data):
    wd = str(tmp_path / 'work')
    train(wd, data, 20)
    rows = [r for r in scalars(wd) if 'loss' in r]
    iters = [r['iter'] for r in rows]
    assert iters == list(range(1, 21)), iters
    loss = np.array([r['loss'] for r in rows])
    assert np.isfinite(loss).all()
    # Decreasing on average once the queue holds real keys (iterations 1-2
    # still contrast against its random initial vectors): least-squares
    # slope < 0 and the last 6 iterations below iterations 3-8.
    tail = loss[2:]
    slope = np.polyfit(np.arange(len(tail)), tail, 1)[0]
    assert slope < 0 and tail[-6:].mean() < tail[:6].mean(), loss
    assert all(r['num_pairs'] > 0 for r in rows)
    assert rows[-1]['queue_fill'] == 256
    assert osp.isfile(osp.join(wd, 'iter_20.pth'))
    with open(osp.join(wd, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_20.pth')

    proc = train(wd, data, 26, '--resume')
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    rows2 = [r for r in scalars(wd) if 'loss' in r]
    new = [r['iter'] for r in rows2][len(rows):]
    assert new == list(range(21, 27)), new
    assert all(math.isfinite(r['loss']) for r in rows2)
    assert osp.isfile(osp.join(wd, 'iter_26.pth'))

    # the picture tools on the trained checkpoint / the same data
    ckpt = osp.join(wd, 'iter_26.pth')
    video = osp.join(data['videos'], data['rel'][0])
    pca = str(tmp_path / 'pca.png')
    out = run_tool('show_features_pca.py', CONFIG, ckpt, video, '--frames',
                   '0', '5', '--size', '64', '--out', pca)
    assert out.returncode == 0, out.stderr[-2000:]
    img = cv2.imread(pca)
    assert img is not None and img.shape[0] >= 2 * 64
    views = str(tmp_path / 'views.png')
    out = run_tool('show_views.py', CONFIG, '--index', '1', '--out', views,
                   '--cfg-options', 'train_dataloader.dataset.data_root=',
                   f'train_dataloader.dataset.ann_file={data["list"]}',
                   'train_dataloader.dataset.data_prefix.video=' +
                   data['videos'], 'train_dataloader.dataset.data_prefix.'
                   f'tracks={data["tracks"]}')
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'kept in the views' in out.stdout
    assert cv2.imread(views) is not None
    # bad inputs: one clear error line naming the file
    out = run_tool('show_features_pca.py', CONFIG, ckpt + '.missing', video)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1].startswith(
        'error: checkpoint not found')
    out = run_tool('show_features_pca.py', CONFIG, ckpt, video, '--frames',
                   '99')
    assert out.returncode != 0 and 'error: cannot read frames' in out.stderr
    out = run_tool('show_views.py', CONFIG + '.missing')
    assert out.returncode != 0 and 'error: config not found' in out.stderr


def run_tool(name, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'vis', name), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
