"""pico_mm.utils.batch_job: shards, skip-if-done, atomic writes, log-and-skip."""
import os

import pytest

from pico_mm.utils.batch_job import (JobItem, JobSummary, atomic_output,
                                     is_temp_path, resolve_shard, run_jobs,
                                     select_shard, temp_path_for)


def test_resolve_shard_sources():
    assert resolve_shard(env={}) == (0, 1)
    assert resolve_shard(2, 5, env={'RANK': '1', 'WORLD_SIZE': '2'}) == (2, 5)
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


def test_run_jobs_skips_done_logs_failures_and_goes_on(tmp_path, monkeypatch):
    for k in ('RANK', 'WORLD_SIZE', 'SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT'):
        monkeypatch.delenv(k, raising=False)
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
            raise ValueError('corrupt input bad.mp4')
        with open(tmp, 'w') as f:
            f.write(item.payload)
        return 'ok'

    log = str(tmp_path / 'job.log')
    s = run_jobs(items, worker, log_path=log, progress=False, echo=False)
    assert calls == ['a', 'bad', 'c']
    assert s.done == ['a', 'c'] and s.skipped_existing == ['d']
    assert s.failed == [('bad', 'ValueError: corrupt input bad.mp4')]
    assert (tmp_path / 'd.txt').read_text() == 'old'
    assert not os.path.exists(tmp_path / 'bad.txt') and not os.path.exists(stale)
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith('.')) == []
    text = open(log).read()
    assert 'SKIP bad: ValueError: corrupt input bad.mp4' in text
    assert 'done 2, skipped (already done) 1, failed 1' in text
    s2 = run_jobs(items, worker, shard=1, num_shards=2, log_path=log, progress=False,
                  echo=False)
    assert s2.shard == (1, 2) and s2.failed == [('bad', 'ValueError: corrupt input bad.mp4')]
    assert s2.skipped_existing == ['d']


def test_summary_exit_code_fails_only_when_nothing_came_out():
    assert JobSummary().exit_code == 0
    assert JobSummary(failed=[('a', 'bad')]).exit_code == 1
    assert JobSummary(done=['b'], failed=[('a', 'bad')]).exit_code == 0
    assert JobSummary(skipped_existing=['b'],
                      failed=[('a', 'bad')]).exit_code == 0
