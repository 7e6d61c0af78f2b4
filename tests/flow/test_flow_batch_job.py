"""pico_mm.utils.batch_job: shards, skip-if-done, atomic writes, data
problems listed and skipped, faults stop the job, exit status."""
import argparse
import errno
import os

import pytest
import torch

from pico_launch_sim import clear_launcher_env
from pico_mm.utils.batch_job import (DataProblem, JobFault, JobItem,
                                     JobSummary, atomic_output, is_temp_path,
                                     parse_fraction, resolve_shard, run_jobs,
                                     select_shard, temp_path_for)


def test_resolve_shard_sources():
    assert resolve_shard(env={}) == (0, 1)
    with pytest.raises(ValueError, match='contradicts the launch'):
        resolve_shard(2, 5, env={'RANK': '1', 'WORLD_SIZE': '2'})
    assert resolve_shard(env={'RANK': '3', 'WORLD_SIZE': '4'}) == (3, 4)
    slurm = {'SLURM_ARRAY_TASK_ID': '7', 'SLURM_ARRAY_TASK_COUNT': '4',
             'SLURM_ARRAY_TASK_MIN': '5'}
    assert resolve_shard(env=slurm) == (2, 4)
    assert resolve_shard(env={'SLURM_ARRAY_TASK_ID': '1',
                               'SLURM_ARRAY_TASK_COUNT': '3'}) == (1, 3)
    with pytest.raises(ValueError):
        resolve_shard(4, 4, env={})
    with pytest.raises(ValueError):
        resolve_shard(1, None, env={})


def test_select_shard_partitions_sorted_items(tmp_path):
    items = [JobItem(n, str(tmp_path / n)) for n in 'edcba']
    parts = [[it.name for it in select_shard(items, i, 2)] for i in range(2)]
    assert parts == [['a', 'c', 'e'], ['b', 'd']]
    with pytest.raises(ValueError, match='same output'):
        select_shard([JobItem('x', 'o'), JobItem('y', 'o')], 0, 1)


def test_atomic_output(tmp_path):
    out = str(tmp_path / 'sub' / 'a.npz')
    assert temp_path_for(out).endswith('.npz') and is_temp_path(temp_path_for(out))
    with pytest.raises(RuntimeError):
        with atomic_output(out) as tmp:
            with open(tmp, 'w') as f:
                f.write('half')
            raise RuntimeError('killed')
    assert os.listdir(tmp_path / 'sub') == []
    with atomic_output(out) as tmp:
        with open(tmp, 'w') as f:
            f.write('full')
    assert open(out).read() == 'full' and os.listdir(tmp_path / 'sub') == ['a.npz']


@pytest.fixture
def no_launcher(monkeypatch):
    """This process is not part of a launch (whatever runs the tests)."""
    clear_launcher_env(monkeypatch)


def test_run_jobs_skips_done_logs_failures_and_goes_on(tmp_path, no_launcher):
    items = [JobItem(n, str(tmp_path / f'{n}.txt'), n) for n in ('a', 'bad', 'c', 'd')]
    (tmp_path / 'd.txt').write_text('old')
    stale = temp_path_for(str(tmp_path / 'c.txt')).replace(str(os.getpid()), '999')
    open(stale, 'w').close()  # left by a killed run
    calls = []

    def worker(item, tmp):
        calls.append(item.name)
        if item.name == 'bad':
            with open(tmp, 'w') as f:
                f.write('partial')
            raise DataProblem('corrupt input bad.mp4')
        with open(tmp, 'w') as f:
            f.write(item.payload)
        return 'ok'

    log = str(tmp_path / 'job.log')
    s = run_jobs(items, worker, log_path=log, progress=False, echo=False)
    assert calls == ['a', 'bad', 'c']
    assert s.done == ['a', 'c'] and s.skipped_existing == ['d']
    assert s.failed == [('bad', 'DataProblem: corrupt input bad.mp4')]
    assert (tmp_path / 'd.txt').read_text() == 'old'
    assert not os.path.exists(tmp_path / 'bad.txt') and not os.path.exists(stale)
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith('.')) == []
    assert open(tmp_path / 'job.failed.txt').read() == (
        'bad\tDataProblem: corrupt input bad.mp4\n')
    assert s.exit_code == 1  # 1 of 4 failed: more than 5%
    text = open(log).read()
    assert 'SKIP bad: DataProblem: corrupt input bad.mp4' in text
    assert 'done 2, skipped (already done) 1, failed 1' in text
    s2 = run_jobs(items, worker, shard=1, num_shards=2, log_path=log, progress=False,
                  echo=False)
    assert s2.shard == (1, 2) and s2.failed == [('bad', 'DataProblem: corrupt input bad.mp4')]
    assert s2.skipped_existing == ['d']


def test_summary_exit_code_follows_max_failed():
    assert JobSummary().exit_code == 0
    assert JobSummary(items=1, failed=[('a', 'bad')]).exit_code == 1
    # the issue: a corpus where 2 of 3 files are garbage did its work, said 0
    assert JobSummary(items=3, done=['c'], failed=[('a', 'x'), ('b', 'y')]
                      ).exit_code == 1
    assert JobSummary(items=20, done=['b'] * 19,
                      failed=[('a', 'bad')]).exit_code == 0  # 5%: not more
    assert JobSummary(items=20, done=['b'] * 18, failed=[('a', 'x')] * 2
                      ).exit_code == 1
    assert JobSummary(items=3, failed=[('a', 'x')] * 2,
                      max_failed=0.7).exit_code == 0
    assert JobSummary(items=3, fault=('a', 'OSError: disk full')).exit_code == 3
    text = JobSummary(items=3, done=['c'], failed=[('a', 'x'), ('b', 'y')],
                      failed_list='L.txt').format()
    assert 'failed items listed in L.txt' in text
    assert 'more than --max-failed 5% (exit status 1)' in text


def test_parse_fraction():
    assert parse_fraction('5%') == pytest.approx(0.05)
    assert parse_fraction('0.2') == pytest.approx(0.2)
    for bad in ('5', 'x', '-1%', '101%'):
        with pytest.raises(argparse.ArgumentTypeError, match='percentage'):
            parse_fraction(bad)


FAULTS = {  # what a GPU job meets that is not the data's fault
    'CUDA error': RuntimeError(
        'CUDA error: an illegal memory access was encountered'),
    'out of memory': torch.cuda.OutOfMemoryError(
        'CUDA out of memory. Tried to allocate 2.00 GiB'),
    'disk full': OSError(errno.ENOSPC, 'No space left on device'),
    'bad checkpoint': RuntimeError(
        'Error(s) in loading state_dict for RAFT: size mismatch'),
    'import error': ImportError("No module named 'torchvision'"),
    'a bug': ValueError('not a data problem'),
}


@pytest.mark.parametrize('fault', list(FAULTS))
def test_a_fault_stops_the_job_and_cleans_up(tmp_path, no_launcher, fault):
    items = [JobItem(n, str(tmp_path / f'{n}.txt'), n) for n in 'abcd']
    calls = []

    def worker(item, tmp):
        calls.append(item.name)
        with open(tmp, 'w') as f:
            f.write('partial')
        if item.name == 'a':
            raise DataProblem('a.mp4: unreadable')
        if item.name == 'c':
            raise FAULTS[fault]
        return ''

    log = str(tmp_path / 'job.log')
    with pytest.raises(JobFault) as err:
        run_jobs(items, worker, log_path=log, progress=False, echo=False)
    assert calls == ['a', 'b', 'c']  # d is never started
    f = err.value
    assert f.item == 'c' and f.summary.exit_code == 3
    assert f.summary.done == ['b'] and f.summary.failed[0][0] == 'a'
    assert sorted(os.listdir(tmp_path)) == ['b.txt', 'job.failed.txt',
                                            'job.log']  # no temp, no c
    listed = open(tmp_path / 'job.failed.txt').read().splitlines()
    assert listed[0].startswith('a\tDataProblem') and listed[1].startswith(
        'c\tFAULT ')
    assert f.format().startswith('error: FAULT at item c: ') and '\n' not in \
        f.format()
    text = open(log).read()
    assert 'FAULT c: Traceback' in text and 'FAULT c:' in f.summary.format()
