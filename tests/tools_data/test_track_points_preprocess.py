"""tools/data/preprocess.py: videos -> flow stores -> tracks, one command."""
import os
import os.path as osp

import cv2
import numpy as np

from pico_mm.flow import read_meta
from pico_mm.tracking import load_tracks
from pico_mm.tracking.synthetic import occlusion_video
from pico_launch_sim import clear_launcher_env, srun_task
from pico_test_tools import ToolRunner

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'data', 'preprocess.py')
MOD_NAME = 'preprocess_tool'


def _write_video(path, frames, fps=30):
    os.makedirs(osp.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    assert vw.isOpened()
    for f in frames:
        vw.write(f)
    vw.release()


_RUNNER = ToolRunner(TOOL, MOD_NAME)
TOOL_MOD = _RUNNER.module
_run = _RUNNER.run
_run_script = _RUNNER.run_script


def test_help_lists_tracking_options():
    res = _run_script('--help')
    assert res.returncode == 0
    for opt in ('--points', '--alpha', '--beta', '--motion-boundary',
                '--flow-dir', '--track-dir', 'extract_flow'):
        assert opt in res.stdout


def test_preprocess_videos_to_tracks(tmp_path, monkeypatch):
    clear_launcher_env(monkeypatch)
    frames, _, _, _ = occlusion_video(48, 64, 10, 14, 0, 16, 2)
    inp = tmp_path / 'videos'
    _write_video(str(inp / 'classA' / 'v1.avi'), frames)
    os.makedirs(inp / 'classB')
    with open(inp / 'classB' / 'bad.avi', 'wb') as f:
        f.write(np.random.default_rng(0).bytes(3000))  # corrupt video
    out = tmp_path / 'out'
    res = _run(str(inp), str(out), '--backend', 'dis', '--short-side', '0',
               '--points', '200', '--alpha', '0.02', '--no-progress',
               '--threads', '1')
    # the bad video is 1 of 2: more than --max-failed 5%, so status 1, and
    # the tracking step still tracks the good one
    assert res.returncode == 1, res.stdout + res.stderr
    assert 'FAILED: 1 of 2 items' in res.stdout
    assert 'track stops: end' in res.stdout and 'saturated' in res.stdout
    store = out / 'flow' / 'classA' / 'v1.zip'
    track = out / 'tracks' / 'classA' / 'v1.npz'
    assert store.is_file() and track.is_file()
    assert not (out / 'tracks' / 'classB' / 'bad.npz').exists()
    flog = open(out / 'flow' / 'extract_flow.shard0of1.log').read()
    assert 'bad' in flog and 'SKIP' in flog
    tr = load_tracks(str(track))
    assert tr.num_tracks == 200 and tr.num_frames == read_meta(
        str(store))['num_frames'] == 10
    assert tr.frame_size == (48, 64) and tr.meta['alpha'] == 0.02
    assert tr.meta['source'] == read_meta(str(store))['source']
    # DIS flow of a static background: full-length tracks that stay put
    full = np.flatnonzero(tr.length == 10)
    far = full[(tr.xy[full, 0, 1] < 8) | (tr.xy[full, 0, 1] > 40)]
    assert far.size >= 5
    drift = np.linalg.norm(tr.xy[far, 9] - tr.xy[far, 0], axis=1)
    assert np.median(drift) < 0.5
    # a second run finds everything done
    res2 = _run(str(inp), str(out), '--backend', 'dis', '--short-side', '0',
                '--points', '200', '--no-progress', '--threads', '1',
                '--max-failed', '50%')
    assert res2.returncode == 0
    assert 'done 0, skipped (already done) 1' in res2.stdout


def test_preprocess_checks_launch_and_tracking_device_first(tmp_path, monkeypatch):
    """Before any flow is computed: a contradictory launch, or tracking on a
    GPU where none is visible, is one error line and status 2."""
    clear_launcher_env(monkeypatch)
    import torch
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)  # no GPU here
    res = _run(str(tmp_path / 'nothing'), str(tmp_path / 'out'), '--backend', 'dis',
               '--track-device', 'auto')
    assert res.returncode == 2 and '--track-device cpu' in res.stderr
    for key, value in srun_task(1, 2).items():
        monkeypatch.setenv(key, value)
    res = _run(str(tmp_path / 'nothing'), str(tmp_path / 'out'), '--shard', '0',
               '--num-shards', '1')
    assert res.returncode == 2 and 'contradicts the launch' in res.stderr
    assert not (tmp_path / 'out').exists()
