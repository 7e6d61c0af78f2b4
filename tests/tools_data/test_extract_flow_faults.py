"""extract_flow.py / track_points.py: data problems are listed, faults stop
the process (exit 3, temp output removed, item named), no silent CPU."""
import errno
import glob
import os
import subprocess
import sys

import pytest
import torch

from pico_launch_sim import clear_launcher_env, launcher_free_env
from pico_test_tools import ToolRunner
from pico_tiny_inputs import make_flow_dir, make_tiny_videos

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTRACT = os.path.join(ROOT, 'tools', 'data', 'extract_flow.py')
TRACK = os.path.join(ROOT, 'tools', 'data', 'track_points.py')
CKPT = os.path.join(ROOT, '..', 'shared', 'fixtures', 'mmflow_raft',
                    'raft_mixed_seed0_state_dict.pth')
_EXTRACT = ToolRunner(EXTRACT, 'extract_flow_faults', extra_args=['--no-progress'])

FAULTS = {  # what a GPU job meets that is not the data's fault
    'CUDA error': RuntimeError('CUDA error: an illegal memory access was encountered'),
    'out of memory': torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to '
                                                 'allocate 2.00 GiB'),
    'disk full': OSError(errno.ENOSPC, 'No space left on device'),
    'bad checkpoint': RuntimeError('Error(s) in loading state_dict for RAFT'),
    'import error': ImportError("No module named 'torchvision'"),
}


def tiny_corpus(root, names=('a', 'b', 'c', 'd'), garbage=()):
    make_tiny_videos(str(root), names=names)
    for name in garbage:
        (root / f'{name}.avi').write_bytes(b'not a video' * 50)


@pytest.mark.parametrize('fault', list(FAULTS))
def test_a_fault_stops_extraction_and_names_the_item(tmp_path, monkeypatch, fault):
    clear_launcher_env(monkeypatch)
    tiny_corpus(tmp_path / 'videos', garbage=('a', ))
    import pico_mm.flow.extract as ex
    real = ex.extract_video
    seen = []

    def extract_video(source, out_path, *args, **kw):
        seen.append(os.path.basename(source))
        if source.endswith('c.avi'):
            with open(out_path, 'wb') as f:
                f.write(b'half a store')  # the fault strikes mid-write
            raise FAULTS[fault]
        return real(source, out_path, *args, **kw)

    monkeypatch.setattr(ex, 'extract_video', extract_video)
    out = tmp_path / 'flow'
    res = _EXTRACT.run(str(tmp_path / 'videos'), str(out), '--short-side', '32')
    assert res.returncode == 3
    assert seen == ['a.avi', 'b.avi', 'c.avi']  # d is not started
    assert sorted(os.listdir(out)) == ['b.zip', 'extract_flow.shard0of1.failed.txt',
                                       'extract_flow.shard0of1.log']  # no temp
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith('error')]
    assert len(errors) == 1 and errors[0].startswith(
        f'error: FAULT at item c: {type(FAULTS[fault]).__name__}: ')
    listed = open(out / 'extract_flow.shard0of1.failed.txt').read().splitlines()
    assert [ln.split('\t')[0] for ln in listed] == ['a', 'c']
    assert listed[0].split('\t')[1].startswith('VideoReadError')  # data problem
    assert listed[1].split('\t')[1].startswith('FAULT ')
    assert 'done 1' in res.stdout and 'FAULT c:' in res.stdout
    # the rerun resumes: b is kept, a is still bad, c and d get done
    monkeypatch.setattr(ex, 'extract_video', real)
    res = _EXTRACT.run(str(tmp_path / 'videos'), str(out), '--short-side', '32')
    assert res.returncode == 1  # a: 1 of 4 failed, more than 5%
    assert 'done 2, skipped (already done) 1, failed 1' in res.stdout
    assert open(out / 'extract_flow.shard0of1.failed.txt').read().startswith('a\t')


def test_garbage_corpus_exits_nonzero_listing_each_file(tmp_path):
    """The issue's corpus: 2 of 3 files are bad (was: exit status 0), one
    unreadable, one too short (a single frame)."""
    tiny_corpus(tmp_path / 'v', names=('a', 'c'), garbage=('a', ))
    make_tiny_videos(str(tmp_path / 'v'), names=['b'], frames=1)
    res = subprocess.run([sys.executable, EXTRACT, str(tmp_path / 'v'),
                          str(tmp_path / 'o'), '--short-side', '32', '--no-progress'],
                         capture_output=True, text=True, env=launcher_free_env())
    assert res.returncode == 1, res.stderr
    assert 'done 1, skipped (already done) 0, failed 2' in res.stdout
    assert 'FAILED: 2 of 3 items of this shard failed' in res.stdout
    listed = open(tmp_path / 'o' / 'extract_flow.shard0of1.failed.txt').read()
    assert [ln.split('\t')[0] for ln in listed.splitlines()] == ['a', 'b']
    assert 'cannot open video' in listed and 'too short' in listed
    res = subprocess.run([sys.executable, EXTRACT, str(tmp_path / 'v'),
                          str(tmp_path / 'o'), '--no-progress', '--max-failed', '70%'],
                         capture_output=True, text=True, env=launcher_free_env())
    assert res.returncode == 0 and 'failed 2' in res.stdout


@pytest.mark.parametrize('device', ['auto', 'cuda', 'cuda:0'])
def test_raft_without_a_gpu_stops_at_once(tmp_path, device):
    """No GPU visible: one error line naming --device cpu, before the
    checkpoint is read (it does not exist here) and before any video."""
    tiny_corpus(tmp_path / 'v', names=('a', ))
    res = subprocess.run([sys.executable, EXTRACT, str(tmp_path / 'v'),
                          str(tmp_path / 'o'), '--backend', 'raft', '--device', device,
                          '--raft-checkpoint', str(tmp_path / 'missing.pth')],
                         capture_output=True, text=True,
                         env=launcher_free_env(CUDA_VISIBLE_DEVICES=''))
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: RAFT'), res.stderr
    assert 'none is visible' in lines[0] and '--device cpu' in lines[0]
    assert not os.path.exists(tmp_path / 'o')


@pytest.mark.skipif(not os.path.isfile(CKPT), reason='needs ../shared fixtures')
def test_raft_on_the_cpu_on_purpose_says_so(tmp_path, monkeypatch):
    clear_launcher_env(monkeypatch)
    tiny_corpus(tmp_path / 'v', names=('a', ))
    res = _EXTRACT.run(str(tmp_path / 'v'), str(tmp_path / 'o'), '--backend', 'raft',
                       '--device', 'cpu', '--raft-checkpoint', CKPT, '--raft-iters', '1',
                       '--short-side', '32')
    assert res.returncode == 0, res.stderr
    assert ('device cpu (RAFT on the CPU, asked for with --device cpu)'
            in res.stderr)


def test_tracking_on_a_missing_gpu_stops_at_once(tmp_path):
    (tmp_path / 'flow').mkdir()
    for device in ('auto', 'cuda'):
        res = subprocess.run([sys.executable, TRACK, str(tmp_path / 'flow'),
                              str(tmp_path / 't'), '--track-device', device],
                             capture_output=True, text=True,
                             env=launcher_free_env(CUDA_VISIBLE_DEVICES=''))
        assert res.returncode == 2
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith('error: tracking'), res.stderr
        assert '--track-device cpu' in lines[0]


def test_a_fault_stops_tracking(tmp_path, monkeypatch):
    clear_launcher_env(monkeypatch)
    flow = make_flow_dir(str(tmp_path))  # classA/vid1, classB/broken, classB/vid2
    tool = ToolRunner(TRACK, 'track_points_faults', extra_args=['--no-progress'])
    import pico_mm.tracking as tracking
    real = tracking.track_video

    def track_video(*args, **kw):
        if kw.get('meta', args[9] if len(args) > 9 else {})['flow_rel'] == 'classB/vid2':
            raise FAULTS['CUDA error']
        return real(*args, **kw)

    monkeypatch.setattr(tracking, 'track_video', track_video)
    out = tmp_path / 'tracks'
    res = tool.run(flow, str(out), '--points', '50')
    assert res.returncode == 3
    assert 'error: FAULT at item classB/vid2: RuntimeError: CUDA error' in res.stderr
    listed = open(out / 'track_points.shard0of1.failed.txt').read().splitlines()
    assert [ln.split('\t')[0] for ln in listed] == ['classB/broken', 'classB/vid2']
    assert listed[0].split('\t')[1].startswith('DataProblem')
    assert sorted(p for p in glob.glob(str(out / '**' / '*'), recursive=True)
                  if os.path.isfile(p) and not p.endswith(('.log', '.txt'))) == [
        str(out / 'classA' / 'vid1.npz')]
