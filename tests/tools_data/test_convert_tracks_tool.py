"""tools/data/convert_tracks.py: in place or into another folder, resumable,
bad files listed and skipped, one-line usage errors."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch

from pico_mm.tracking import (TrackIndex, file_version, load_tracks,
                              save_tracks, track_video)
from pico_test_tools import ToolRunner

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
_RUNNER = ToolRunner(osp.join(ROOT, 'tools', 'data', 'convert_tracks.py'),
                     'convert_tracks_tool', extra_args=['--no-progress'])
_run = _RUNNER.run
torch.set_num_threads(1)


def _old_track_dir(root, n=3):
    """``n`` format-1 track files (what track_points.py wrote before) in two
    class folders, noisy flow so that stricter alpha/beta cut tracks."""
    import cv2
    files = []
    for i in range(n):
        rng = np.random.default_rng(i)
        fwd = [cv2.resize(rng.normal(0, 1.5, (5, 7, 2)).astype(np.float32),
                          (64, 48)) for _ in range(19)]
        bwd = [-f + rng.normal(0, 0.3, f.shape).astype(np.float32)
               for f in fwd]
        tr = track_video(lambda t: (fwd[t], bwd[t]), 20, (48, 64), 300,
                         np.random.default_rng(i), 0.02, 1.0, device='cpu',
                         meta=dict(source=f'v{i}.mp4', fps=30, short_side=48))
        path = osp.join(root, f'cls{i % 2}', f'v{i}.npz')
        save_tracks(path, tr, version=1)
        files.append(path)
    return files


def test_in_place_resumable_and_extra_sweep(tmp_path):
    files = _old_track_dir(str(tmp_path / 'tracks'))
    before = {p: load_tracks(p) for p in files}
    res = _run(str(tmp_path / 'tracks'), '--sweep', '0.007,0.4')
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert 'device cpu' in out and 'done 3' in out
    for p in files:
        assert file_version(p) == 2
        after = load_tracks(p)
        np.testing.assert_array_equal(after.length, before[p].length)
        assert np.abs(after.points - before[p].points).max() <= 0.5 / 1024
        assert not TrackIndex(p, 0.007, 0.4).computed  # stored in the file
    left = [n for d in ('cls0', 'cls1')
            for n in os.listdir(tmp_path / 'tracks' / d)]
    assert sorted(left) == ['v0.npz', 'v1.npz', 'v2.npz']  # no temp left
    mtimes = {p: os.stat(p).st_mtime_ns for p in files}
    res = _run(str(tmp_path / 'tracks'), '--sweep', '0.007,0.4')
    assert res.returncode == 0
    log = glob.glob(str(tmp_path / 'tracks' / 'convert_tracks.*.log'))[0]
    assert open(log).read().count('unchanged') == 3
    assert {p: os.stat(p).st_mtime_ns for p in files} == mtimes


def test_out_of_place_lists_bad_files_and_goes_on(tmp_path):
    src = str(tmp_path / 'tracks')
    files = _old_track_dir(src)
    bad = osp.join(src, 'cls0', 'broken.npz')
    with open(bad, 'wb') as f:
        f.write(open(files[0], 'rb').read()[:500])
    res = _run(src, str(tmp_path / 'v2'), '--max-failed', '0.5')
    assert res.returncode == 0, res.stderr
    assert 'SKIP cls0/broken.npz' in res.stderr + res.stdout
    failed = glob.glob(str(tmp_path / 'v2' / '*.failed.txt'))[0]
    assert 'broken.npz' in open(failed).read()
    for p in files:
        out = osp.join(str(tmp_path / 'v2'), osp.relpath(p, src))
        assert file_version(out) == 2 and file_version(p) == 1
    res = _run(src, str(tmp_path / 'v2'))  # 1 of 4 bad > 5 %: exit 1
    assert res.returncode == 1


def test_help_and_one_line_errors(tmp_path, capsys):
    res = _RUNNER.run_script('--help')
    assert res.returncode == 0 and '--sweep' in res.stdout
    res = _run(str(tmp_path / 'missing'))
    assert res.returncode == 2
    assert res.stderr.strip().count('\n') == 0 and 'missing' in res.stderr
    os.makedirs(tmp_path / 'empty')
    res = _run(str(tmp_path / 'empty'))
    assert res.returncode == 2 and 'track_points.py' in res.stderr
    with pytest.raises(SystemExit) as e:  # argparse: usage + one line
        _RUNNER.module.parse_args([str(tmp_path), '--sweep', '0.01'])
    assert e.value.code == 2
    assert 'ALPHA,BETA' in capsys.readouterr().err
