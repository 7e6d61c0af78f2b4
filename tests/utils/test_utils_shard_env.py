"""pico_mm.utils.shard_env: every launch shape partitions the job exactly once;
contradictory settings are one-line errors; devices never fall back to CPU."""
import pytest

from pico_launch_sim import BATCH, array_task, launch_shapes, srun_task, torchrun
from pico_mm.utils.shard_env import (LaunchError, NoGPUError, resolve_device,
                                     resolve_launch)


@pytest.mark.parametrize('name', list(launch_shapes()))
def test_every_launch_shape_covers_each_shard_exactly_once(name):
    launches = [resolve_launch(env=env) for env in launch_shapes()[name]]
    counts = {la.count for la in launches}
    assert counts == {len(launches)}, (name, counts)
    assert sorted(la.index for la in launches) == list(range(len(launches)))


def test_array_index_times_processes_plus_rank():
    la = resolve_launch(env=dict(array_task(1, 2), **torchrun(0, 2, 2)))
    assert (la.index, la.count) == (2, 4)  # the issue: not "rank 0 of 2"
    assert 'Slurm array task 1 of 2' in la.source and 'torchrun' in la.source


def test_local_rank_picks_the_gpu():
    assert resolve_launch(env=torchrun(6, 8, 4)).local_rank == 2
    assert resolve_launch(env=srun_task(3, 4, 2)).local_rank == 1
    # torchrun inside srun: LOCAL_RANK, not the srun task's SLURM_LOCALID
    nested = dict(srun_task(1, 2, 1), **torchrun(3, 4, 4))
    assert resolve_launch(env=nested).local_rank == 3
    assert resolve_device('auto', 4, 6) == 'cuda:2'
    assert resolve_device('cuda', 2, 3) == 'cuda:1'
    assert resolve_device('cuda', 8, env=torchrun(5, 8, 8)) == 'cuda:5'
    assert resolve_device('cuda:1', 2, 0) == 'cuda:1'
    assert resolve_device('cpu', 8, 3) == 'cpu'


@pytest.mark.parametrize('req', ['auto', 'cuda', 'cuda:0'])
def test_no_gpu_is_an_error_naming_the_cpu_flag(req):
    with pytest.raises(NoGPUError, match='none is visible.*--track-device cpu'):
        resolve_device(req, 0, 0, 'tracking', '--track-device cpu')


def test_device_errors():
    with pytest.raises(ValueError, match='only 2 GPU'):
        resolve_device('cuda:2', 2, 0)
    with pytest.raises(ValueError, match='auto, cpu, cuda'):
        resolve_device('tpu', 2, 0)


def test_explicit_shard():
    assert resolve_launch(2, 5, env={}).shard == (2, 5)
    assert resolve_launch(2, 5, env=dict(BATCH)).shard == (2, 5)
    # agreeing with the launch is fine (srun ... --shard $SLURM_PROCID)
    assert resolve_launch(1, 3, env=srun_task(1, 3)).shard == (1, 3)


@pytest.mark.parametrize('shard,env,msg', [
    ((0, 1), srun_task(1, 3), 'contradicts the launch'),
    ((0, 4), torchrun(1, 2, 2), 'contradicts the launch'),
    ((1, 2), array_task(0, 2), 'contradicts the launch'),
    ((4, 4), {}, 'need 0 <= --shard'),
    ((1, None), {}, 'give both'),
    ((None, None), {'RANK': '1'}, 'RANK is set but WORLD_SIZE is not'),
    ((None, None), {'WORLD_SIZE': '2'}, 'WORLD_SIZE is set but RANK is not'),
    ((None, None), {'RANK': '2', 'WORLD_SIZE': '2'}, 'RANK=2 is not in'),
    ((None, None), {'RANK': 'x', 'WORLD_SIZE': '2'}, 'not an integer'),
    ((None, None), array_task(4, 3), 'outside 0..2'),
    ((None, None), dict(BATCH, SLURM_ARRAY_TASK_ID='5'), 'without'),
    ((None, None), dict(array_task(0, 3), SLURM_ARRAY_TASK_MAX='9'),
     'not one range'),
    ((None, None), dict(BATCH, SLURM_NTASKS='8'), 'not started by srun'),
    ((None, None), dict(srun_task(0, 2, 1), **torchrun(1, 6, 2)),
     'do not fit the srun step'),
    ((None, None), dict(srun_task(0, 2), RANK='1', WORLD_SIZE='4'),
     'do not fit the srun step'),
])
def test_contradictory_settings_are_one_line_errors(shard, env, msg):
    with pytest.raises(LaunchError, match=msg) as err:
        resolve_launch(*shard, env=env)
    assert '\n' not in str(err.value)


def test_batch_script_and_batch_step_ids_are_one_process():
    # a batch step id (Slurm's "batch" step) is not an srun step
    env = dict(BATCH, SLURM_STEP_ID='4294967294', SLURM_NTASKS='1')
    assert resolve_launch(env=env).shard == (0, 1)
    # torchrun started directly by an sbatch --ntasks=4 script: torchrun rules
    env = dict(BATCH, SLURM_NTASKS='4', **torchrun(3, 4, 4))
    assert resolve_launch(env=env).shard == (3, 4)
