"""tools/data/track_points.py end to end on a tiny generated flow folder."""
import os
import os.path as osp

import numpy as np

from pico_launch_sim import clear_launcher_env
from pico_mm.tracking import load_tracks
from pico_test_tools import ToolRunner
from pico_tiny_inputs import make_flow_dir

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'data', 'track_points.py')

_RUNNER = ToolRunner(TOOL, 'track_points_tool', extra_args=['--no-progress'])
TOOL_MOD = _RUNNER.module
_run = _RUNNER.run


def test_help():
    # the script itself, as a user runs it
    res = _RUNNER.run_script('--help')
    assert res.returncode == 0
    for opt in ('--points', '--alpha', '--beta', '--motion-boundary',
                '--shard', '--num-shards', '--prefetch'):
        assert opt in res.stdout


def test_prefetch_is_opt_in_and_gives_the_same_tracks(tmp_path, monkeypatch):
    """One thread per process unless --prefetch; the tracks are the same."""
    import pico_mm.tracking.tracker as tracker_mod
    clear_launcher_env(monkeypatch)
    used = []
    feed = tracker_mod.FlowFeed

    def spy(*args):
        used.append(args[-1])  # the prefetch flag
        return feed(*args)

    monkeypatch.setattr(tracker_mod, 'FlowFeed', spy)
    flow = make_flow_dir(str(tmp_path))
    outs = {}
    for extra in ((), ('--prefetch', )):
        out = str(tmp_path / f'tracks{len(extra)}')
        used.clear()
        res = _run(flow, out, '--points', '200', '--max-failed', '50%',
                   *extra)
        assert res.returncode == 0, res.stderr
        assert used == [bool(extra)] * 2  # the two readable stores
        outs[bool(extra)] = load_tracks(osp.join(out, 'classA', 'vid1.npz'))
    for name in ('start', 'length', 'stop', 'points', 'terms'):
        np.testing.assert_array_equal(getattr(outs[False], name),
                                      getattr(outs[True], name))


def test_track_points_end_to_end_resume_and_bad_input(tmp_path, monkeypatch):
    clear_launcher_env(monkeypatch)
    flow = make_flow_dir(str(tmp_path))
    out = str(tmp_path / 'tracks')
    res = _run(flow, out, '--points', '300', '--seed', '3')
    assert res.returncode == 1, res.stderr  # 1 bad of 3: more than 5%
    assert 'done 2' in res.stdout and 'failed 1' in res.stdout
    assert 'device cpu (on purpose, --track-device cpu)' in res.stderr
    assert open(osp.join(out, 'track_points.shard0of1.failed.txt')).read(
    ).startswith('classB/broken\tDataProblem: ')
    log = open(osp.join(out, 'track_points.shard0of1.log')).read()
    assert 'SKIP classB/broken' in log and 'broken.zip' in log
    assert 'extract_flow' in log  # the fix is named
    files = sorted(
        osp.relpath(osp.join(r, f), out) for r, _, fs in os.walk(out)
        for f in fs)
    assert files == ['classA/vid1.npz', 'classB/vid2.npz',
                     'track_points.shard0of1.failed.txt',
                     'track_points.shard0of1.log']
    t1 = load_tracks(osp.join(out, 'classA', 'vid1.npz'))
    assert t1.num_tracks == 300 and t1.num_frames == 12
    assert t1.frame_size == (40, 56)
    assert t1.meta['source'] == 'synthetic.mp4' and t1.meta['fps'] == 30
    assert t1.meta['flow_path'] == osp.abspath(
        osp.join(flow, 'classA', 'vid1.zip'))
    assert t1.meta['alpha'] == 0.02 and t1.meta['beta'] == 1.0  # loosest sweep point
    assert t1.meta['motion_boundary'] is False
    assert t1.length.mean() > 3  # translation: most points live on
    # resume: nothing redone, outputs untouched
    stamp = os.stat(osp.join(out, 'classA', 'vid1.npz')).st_mtime_ns
    res2 = _run(flow, out, '--points', '300', '--seed', '3', '--max-failed', '50%')
    assert res2.returncode == 0
    assert 'done 0' in res2.stdout and 'skipped (already done) 2' in res2.stdout
    assert 'failed 1' in res2.stdout
    assert os.stat(osp.join(out, 'classA', 'vid1.npz')).st_mtime_ns == stamp
    first = load_tracks(osp.join(out, 'classB', 'vid2.npz'))
    os.remove(osp.join(out, 'classB', 'vid2.npz'))
    res3 = _run(flow, out, '--points', '300', '--seed', '3', '--shard', '1',
                '--num-shards', '2')
    # sorted names: classA/vid1, classB/broken, classB/vid2 -> shard 1 has
    # only classB/broken
    assert 'done 0' in res3.stdout and 'failed 1' in res3.stdout
    assert res3.returncode == 1
    res4 = _run(flow, out, '--points', '300', '--seed', '3', '--shard', '0',
                '--num-shards', '2', '--motion-boundary')
    assert 'done 1' in res4.stdout
    t2 = load_tracks(osp.join(out, 'classB', 'vid2.npz'))
    assert t2.meta['motion_boundary'] is True
    # same seed and name -> same seeds as the first run, whatever the shard
    np.testing.assert_array_equal(t2.start, first.start)
    s2 = t2.points[np.cumsum(t2.length) - t2.length]
    s1 = first.points[np.cumsum(first.length) - first.length]
    np.testing.assert_array_equal(s1, s2)
    assert np.all(t2.length <= first.length)  # extra stop rule only cuts


def test_bad_arguments(tmp_path):
    res = _run(str(tmp_path / 'nope'), str(tmp_path / 'out'))
    assert res.returncode == 2
    assert 'nope' in res.stderr and 'extract_flow' in res.stderr
    os.makedirs(tmp_path / 'empty')
    res = _run(str(tmp_path / 'empty'), str(tmp_path / 'out'))
    assert res.returncode == 2 and 'no flow stores' in res.stderr
