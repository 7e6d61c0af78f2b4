"""extract_flow.py and track_points.py under every launch shape, with real
processes (one per simulated rank, each with its launcher's environment): the
union of the outputs is the corpus, each item done by exactly one process."""
import glob
import json
import os
import re
import subprocess
import sys

import pytest

from pico_launch_sim import (LAUNCH_VARS, array_task, launch_shapes,
                             launcher_free_env, srun_task, torchrun)
from pico_tiny_inputs import make_tiny_videos

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPERS = os.path.join(ROOT, 'tests', '_helpers')
EXTRACT = os.path.join(ROOT, 'tools', 'data', 'extract_flow.py')
TRACK = os.path.join(ROOT, 'tools', 'data', 'track_points.py')
N_VIDEOS = 12
START = re.compile(r'START (\w+): shard (\d+) of (\d+) \((.*)\), local rank (\d+), '
                   r'device (.*); (\d+) of (\d+) items')


def explicit_shape(n):
    return dict(envs=[{}] * n, extra=[['--shard', str(i), '--num-shards', str(n)]
                                      for i in range(n)])


def run_launcher(tmp, tool, shapes, argv_of, preload):
    spec = dict(tool=tool, preload=preload, shapes={
        name: dict(argv=argv_of(i), **shape) for i, (name, shape) in enumerate(shapes.items())})
    with open(os.path.join(tmp, 'spec.json'), 'w') as f:
        json.dump(spec, f)
    res = subprocess.run(
        [sys.executable, os.path.join(HELPERS, 'pico_launch_sim.py'),
         os.path.join(tmp, 'spec.json'), os.path.join(tmp, 'result.json')],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env=launcher_free_env(OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr
    with open(os.path.join(tmp, 'result.json')) as f:
        return json.load(f)


def flow_shapes():
    shapes = {name: dict(envs=envs) for name, envs in launch_shapes().items()}
    shapes['--shard/--num-shards, 3 processes'] = explicit_shape(3)
    return shapes


@pytest.fixture(scope='module')
def flow_runs(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp('launch_flow'))
    names = make_tiny_videos(os.path.join(tmp, 'videos'), n=N_VIDEOS)
    shapes = flow_shapes()
    out = lambda i: os.path.join(tmp, f'out{i}')  # noqa: E731
    res = run_launcher(
        tmp, EXTRACT, shapes,
        lambda i: [os.path.join(tmp, 'videos'), out(i), '--short-side', '32',
                   '--no-progress', '--threads', '1'],
        ['pico_mm.flow.extract', 'pico_mm.flow.backends'])
    return names, {name: (res[name], out(i)) for i, name in enumerate(shapes)}


def check_each_item_once(rows, out_dir, names, tool, ext):
    starts = []
    done = []
    for row in rows:
        assert row['rc'] == 0, row['stderr']
        lines = [m for m in map(START.search, row['stderr'].splitlines()) if m]
        assert len(lines) == 1, row['stderr']  # one START line per process
        m = lines[0]
        assert m.group(1) == tool
        starts.append((int(m.group(2)), int(m.group(3))))
        done.append(int(re.search(r'done (\d+)', row['stdout']).group(1)))
    n = len(rows)
    assert sorted(starts) == [(i, n) for i in range(n)], starts
    assert sum(done) == len(names)  # nothing done twice (nor skipped)
    made = sorted(os.path.splitext(os.path.relpath(p, out_dir))[0] for p in
                  glob.glob(os.path.join(out_dir, '**', '*' + ext), recursive=True))
    assert made == names
    per_log = []  # the DONE lines of all logs: each item exactly once
    for log in glob.glob(os.path.join(out_dir, f'{tool}.shard*of{n}.log')):
        per_log += re.findall(r' DONE (\S+?)(?::|$)', open(log).read(), re.M)
    assert sorted(per_log) == names
    return [START.search(r['stderr']) for r in rows]


@pytest.mark.parametrize('shape', list(flow_shapes()))
def test_extract_flow_does_each_video_once(flow_runs, shape):
    names, runs = flow_runs
    rows, out_dir = runs[shape]
    starts = check_each_item_once(rows, out_dir, names, 'extract_flow', '.zip')
    for m in starts:  # every process says where it runs and why
        assert m.group(6) == 'cpu (DIS is a CPU method)'


def test_the_issue_reproduction(flow_runs):
    """srun -n 3: task 0 writes 4 of 12 (was 12); torchrun rank 0 of 2 in
    array task 1 of 2 is shard 2 of 4 and writes 3 (was 6 of 12)."""
    _, runs = flow_runs
    rows, _ = runs['srun -n 3']
    m = START.search(rows[0]['stderr'])
    assert (m.group(2), m.group(3), m.group(7)) == ('0', '3', '4')
    rows, _ = runs['torchrun x2 in array of 2']
    row = [r for r in rows if r['env'] == dict(array_task(1, 2), **torchrun(0, 2, 2))]
    m = START.search(row[0]['stderr'])
    assert (m.group(2), m.group(3), m.group(7)) == ('2', '4', '3')
    assert m.group(4) == 'Slurm array task 1 of 2 x torchrun rank 0 of 2'


def test_local_rank_is_reported(flow_runs):
    _, runs = flow_runs
    for shape, want in [('torchrun, two nodes', [0, 1, 2, 3] * 2),
                        ('srun, 2 nodes x 2', [0, 1, 0, 1]),
                        ('standalone torchrun in each srun task', [0, 1, 2, 3] * 2)]:
        rows, _ = runs[shape]
        assert [int(START.search(r['stderr']).group(5)) for r in rows] == want


TRACK_SHAPES = ('srun -n 2 in array of 3', 'torchrun, two nodes',
                'multi-node torchrun under srun')


def test_track_points_does_each_store_once(flow_runs, tmp_path):
    names, runs = flow_runs
    flow = runs['one process'][1]
    shapes = {name: dict(envs=launch_shapes()[name]) for name in TRACK_SHAPES}
    shapes['--shard/--num-shards, 2 processes'] = explicit_shape(2)
    out = lambda i: str(tmp_path / f'tracks{i}')  # noqa: E731
    res = run_launcher(str(tmp_path), TRACK, shapes,
                       lambda i: [flow, out(i), '--points', '16', '--no-progress',
                                  '--threads', '1'],
                       ['pico_mm.flow', 'pico_mm.tracking'])
    for i, name in enumerate(shapes):
        starts = check_each_item_once(res[name], out(i), names, 'track_points', '.npz')
        assert {m.group(6) for m in starts} == {
            'cpu (on purpose, --track-device cpu)'}


def test_launcher_variables_do_not_leak_into_tests():
    env = launcher_free_env(dict(srun_task(1, 2), PATH='/bin', **torchrun(1, 2, 2)))
    assert env == {'PATH': '/bin'}
    assert 'RANK' in LAUNCH_VARS


def test_srun_tasks_as_separate_interpreters(tmp_path):
    """The issue's `srun -n 3` case with three fresh interpreters running the
    script, as srun starts them (the other shapes fork after one import)."""
    names = make_tiny_videos(str(tmp_path / 'videos'), n=N_VIDEOS)
    out = tmp_path / 'flow'
    procs = [subprocess.Popen(
        [sys.executable, EXTRACT, str(tmp_path / 'videos'), str(out), '--short-side',
         '32', '--no-progress', '--threads', '1'], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=launcher_free_env(OMP_NUM_THREADS='1', **srun_task(p, 3)))
        for p in range(3)]
    rows = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        rows.append(dict(rc=proc.returncode, stdout=stdout, stderr=stderr))
    check_each_item_once(rows, str(out), names, 'extract_flow', '.zip')
