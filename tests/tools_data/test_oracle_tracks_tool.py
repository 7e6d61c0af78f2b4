"""tools/data/oracle_tracks.py: PiCo-oracle track files for rendered clips."""
import filecmp
import os.path as osp
import subprocess
import sys

import numpy as np

from pico_mm.demo.render import ClipConfig, exact_correspondences, render_clip
from pico_mm.tracking import load_tracks, save_tracks
from pico_mm.tracking.tracker import sample_seeds
from pico_mm.tracking.tracks import STOP_LEFT, Tracks

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=600)


def _seed_tracks(path, num_frames, size, n=200):
    start, xy = sample_seeds(n, num_frames, size, np.random.default_rng(1))
    save_tracks(path, Tracks(start, np.ones(n), np.full(n, STOP_LEFT), xy,
                             np.zeros((0, 2)), num_frames, size,
                             dict(alpha=0.02, beta=1.0)))


def test_oracle_tracks_tool(tmp_path):
    render = tmp_path / 'rendered'
    proc = _run('tools/data/render_clips.py', str(render), '--splits', 'train',
                '--clips', '1', '--size', '32', '48', '--frames', '8')
    assert proc.returncode == 0, proc.stderr[-2000:]
    tracks = tmp_path / 'tracks'
    (tracks / 'train').mkdir(parents=True)
    _seed_tracks(str(tracks / 'train' / 'train_000.npz'), 8, (32, 48))
    _seed_tracks(str(tracks / 'train' / 'bikes.npz'), 8, (32, 48))
    out = tmp_path / 'oracle'
    proc = _run('tools/data/oracle_tracks.py', str(tracks), str(out),
                '--render-root', str(render))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert '1 made, 1 copied unchanged' in proc.stdout
    assert filecmp.cmp(tracks / 'train' / 'bikes.npz', out / 'train' / 'bikes.npz',
                       shallow=False)
    orc = load_tracks(str(out / 'train' / 'train_000.npz'))
    assert orc.meta['oracle'] and orc.length.max() > 1
    scene = render_clip('train', 0, ClipConfig(32, 48, 8, 3)).scene
    i = int(np.argmax(orc.length))
    t0, t1 = int(orc.start[i]), int(orc.end[i])
    c = exact_correspondences(scene, t0, t1, orc.positions([i], t0))
    np.testing.assert_allclose(orc.positions([i], t1), c.dst, atol=0.05)


def test_oracle_tracks_tool_needs_render_info(tmp_path):
    proc = _run('tools/data/oracle_tracks.py', str(tmp_path), str(tmp_path / 'o'),
                '--render-root', str(tmp_path / 'nothing'))
    assert proc.returncode == 2 and 'render_info.json not found' in proc.stderr


def test_rendered_clip_through_the_tools_to_oracle_tracks(tmp_path):
    """render_clips --rawframes -> extract_flow -> track_points -> oracle_tracks."""
    render, flow, tracks, out = (tmp_path / n for n in
                                 ('r', 'flow', 'tracks', 'oracle'))
    steps = [
        ('tools/data/render_clips.py', str(render), '--splits', 'train',
         '--clips', '1', '--size', '32', '48', '--frames', '10', '--rawframes'),
        ('tools/data/extract_flow.py', str(render / 'rawframes'), str(flow),
         '--backend', 'dis', '--short-side', '32', '--no-progress'),
        ('tools/data/track_points.py', str(flow), str(tracks), '--points', '256',
         '--track-device', 'cpu', '--no-progress'),
        ('tools/data/oracle_tracks.py', str(tracks), str(out), '--render-root',
         str(render)),
    ]
    for step in steps:
        proc = _run(*step)
        assert proc.returncode == 0, (step[0], proc.stdout[-1500:],
                                      proc.stderr[-2500:])
    assert '1 made, 0 copied' in proc.stdout
    dis = load_tracks(str(tracks / 'train_000.npz'))
    orc = load_tracks(str(out / 'train_000.npz'))
    assert dis.num_frames == orc.num_frames == 10
    assert np.array_equal(dis.start, orc.start)  # PiCo's own seeds
    first = np.cumsum(dis.length) - dis.length
    np.testing.assert_allclose(orc.points[np.cumsum(orc.length) - orc.length],
                               dis.points[first], atol=0.05)
    assert orc.meta['oracle'] and orc.meta.get('flow_path') == dis.meta.get(
        'flow_path')
