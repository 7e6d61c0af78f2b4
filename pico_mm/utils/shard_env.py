"""Which share of a batch job this process does, and which device it uses.

Pure python (no torch, numpy, mmengine or mmcv): used by
:mod:`pico_mm.utils.batch_job`, :mod:`pico_mm.flow.backends` and the
tracker. :func:`resolve_launch` reads the launcher's environment variables;
:func:`resolve_device` turns ``auto``/``cuda``/``cpu`` into a torch device
string for the local rank.

Launch shapes and precedence (docs/flow.md, "Clusters"):

1. **Processes of one launch** (``q`` of ``n``):

   * ``torchrun``: ``RANK``/``WORLD_SIZE`` (both, or an error).
   * ``srun``: ``SLURM_PROCID`` of ``SLURM_STEP_NUM_TASKS`` (``SLURM_NTASKS``
     where the former is missing), recognised by the step variables
     (``SLURM_STEP_ID``/``SLURM_STEP_NUM_TASKS``) that only ``srun`` sets.
     The batch script of ``sbatch`` also carries ``SLURM_PROCID=0`` and
     ``SLURM_NTASKS``, but no step variables: it is one process (an error if
     ``SLURM_NTASKS > 1``: the allocation asked for tasks that only ``srun``
     starts).
   * torchrun under srun (both sets): the torchrun ranks when they span the
     srun tasks (``WORLD_SIZE == SLURM_STEP_NUM_TASKS * LOCAL_WORLD_SIZE``,
     multi-node torchrun) or equal them (workers that copy ``SLURM_PROCID``
     into ``RANK``); a standalone torchrun in each srun task
     (``WORLD_SIZE == LOCAL_WORLD_SIZE``) gives ``SLURM_PROCID * WORLD_SIZE +
     RANK`` of ``SLURM_STEP_NUM_TASKS * WORLD_SIZE``; anything else is an
     error.
   * else one process (``0`` of ``1``).

2. **Slurm array task** ``a`` of ``c`` (``SLURM_ARRAY_TASK_ID`` minus
   ``SLURM_ARRAY_TASK_MIN``, divided by ``SLURM_ARRAY_TASK_STEP``; ``c`` =
   ``SLURM_ARRAY_TASK_COUNT``, or from ``MIN``/``MAX``/``STEP``): the shard is
   ``a * n + q`` of ``c * n``.

3. **Explicit** ``--shard I --num-shards N``: used as given when the
   environment shows one process; where it shows several, it must agree with
   them (else every process would do the same shard): an error otherwise.

The local rank (``LOCAL_RANK``, else ``SLURM_LOCALID``, else 0) picks the GPU:
``cuda:{local_rank % device_count}``.
"""
import dataclasses
import os
from typing import Mapping, Optional, Tuple

BATCH_STEP_IDS = ('batch', 'extern', '4294967294', '4294967291')


class LaunchError(ValueError):
    """Contradictory or incomplete launch settings (one line, with the fix)."""


class NoGPUError(RuntimeError):
    """A GPU was asked for (``auto``/``cuda``) but none is visible."""


@dataclasses.dataclass
class Launch:
    """This process's place in the job.

    Attributes:
        index (int): Global shard index, ``0 <= index < count``.
        count (int): Number of shards of the whole job.
        local_rank (int): Process index on this node (picks the GPU).
        source (str): How ``index``/``count`` were found, for the logs.
    """
    index: int = 0
    count: int = 1
    local_rank: int = 0
    source: str = 'one process'

    @property
    def shard(self) -> Tuple[int, int]:
        """``(index, count)``."""
        return self.index, self.count

    def describe(self) -> str:
        """``shard I of N (<source>)``."""
        return f'shard {self.index} of {self.count} ({self.source})'


def _int(env: Mapping[str, str], key: str) -> int:
    try:
        return int(env[key])
    except ValueError:
        raise LaunchError(f'{key}={env[key]!r} is not an integer') from None


def _processes(env: Mapping[str, str]) -> Tuple[int, int, int, str]:
    """``(rank, size, local_rank, source)`` of this launch (array aside)."""
    has_rank, has_world = 'RANK' in env, 'WORLD_SIZE' in env
    if has_rank != has_world:
        have, miss = ('RANK', 'WORLD_SIZE') if has_rank else ('WORLD_SIZE',
                                                               'RANK')
        raise LaunchError(f'{have} is set but {miss} is not: set both (as '
                          'torchrun does) or neither')
    step = env.get('SLURM_STEP_ID', env.get('SLURM_STEPID'))
    srun = ('SLURM_PROCID' in env and (
        'SLURM_STEP_NUM_TASKS' in env or step is not None)
        and str(step) not in BATCH_STEP_IDS)
    local = _int(env, 'LOCAL_RANK') if 'LOCAL_RANK' in env else (
        _int(env, 'SLURM_LOCALID') if 'SLURM_LOCALID' in env else 0)
    if srun:
        p = _int(env, 'SLURM_PROCID')
        key = ('SLURM_STEP_NUM_TASKS' if 'SLURM_STEP_NUM_TASKS' in env else
               'SLURM_NTASKS')
        if key not in env:
            raise LaunchError('SLURM_PROCID is set in an srun step but '
                              'neither SLURM_STEP_NUM_TASKS nor SLURM_NTASKS')
        s = _int(env, key)
        if not 0 <= p < s:
            raise LaunchError(f'SLURM_PROCID={p} is not below {key}={s}')
    elif ('SLURM_PROCID' in env and 'SLURM_NTASKS' in env and not has_rank
          and _int(env, 'SLURM_NTASKS') > 1):
        raise LaunchError(
            f"SLURM_NTASKS={env['SLURM_NTASKS']} but this process was not "
            'started by srun (no SLURM_STEP_ID): start the tool with srun to '
            'run that many tasks, or ask sbatch for --ntasks=1')
    if has_rank:
        r, w = _int(env, 'RANK'), _int(env, 'WORLD_SIZE')
        if w < 1 or not 0 <= r < w:
            raise LaunchError(f'RANK={r} is not in 0..WORLD_SIZE-1 '
                              f'(WORLD_SIZE={w})')
        if not srun or s == 1 or (r, w) == (p, s):
            return r, w, local, f'torchrun rank {r} of {w}'
        lw = _int(env, 'LOCAL_WORLD_SIZE') if 'LOCAL_WORLD_SIZE' in env else 0
        if lw and w == s * lw:
            return r, w, local, (f'torchrun rank {r} of {w} across {s} '
                                 'srun tasks')
        if lw and w == lw:
            slocal = _int(env, 'SLURM_LOCALID') if 'SLURM_LOCALID' in env \
                else 0
            return (p * w + r, s * w, slocal * w + local,
                    f'srun task {p} of {s} x torchrun rank {r} of {w}')
        raise LaunchError(
            f'torchrun RANK={r}/WORLD_SIZE={w} (LOCAL_WORLD_SIZE={lw or "?"}) '
            f'do not fit the srun step (SLURM_PROCID={p} of {s}): run one '
            'torchrun per srun task, or unset one set of variables')
    if srun:
        return p, s, local, f'srun task {p} of {s}'
    return 0, 1, local, 'one process'


def _array(env: Mapping[str, str]) -> Optional[Tuple[int, int]]:
    """``(index, count)`` of this Slurm array task, or None."""
    if 'SLURM_ARRAY_TASK_ID' not in env:
        return None
    tid = _int(env, 'SLURM_ARRAY_TASK_ID')
    lo = _int(env, 'SLURM_ARRAY_TASK_MIN') if 'SLURM_ARRAY_TASK_MIN' in env \
        else 0
    step = _int(env, 'SLURM_ARRAY_TASK_STEP') \
        if 'SLURM_ARRAY_TASK_STEP' in env else 1
    if 'SLURM_ARRAY_TASK_COUNT' in env:
        count = _int(env, 'SLURM_ARRAY_TASK_COUNT')
    elif 'SLURM_ARRAY_TASK_MAX' in env:
        count = (_int(env, 'SLURM_ARRAY_TASK_MAX') - lo) // max(step, 1) + 1
    else:
        raise LaunchError('SLURM_ARRAY_TASK_ID is set without '
                          'SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX')
    if 'SLURM_ARRAY_TASK_MAX' in env and step >= 1 and count != (
            _int(env, 'SLURM_ARRAY_TASK_MAX') - lo) // step + 1:
        raise LaunchError(
            f'Slurm array ids are not one range ({count} tasks between '
            f"{lo} and {env['SLURM_ARRAY_TASK_MAX']}, step {step}): use "
            '--array=A-B[:S], or give --shard/--num-shards per task')
    if step < 1 or (tid - lo) % step:
        raise LaunchError(f'SLURM_ARRAY_TASK_ID={tid} is not MIN {lo} plus a '
                          f'multiple of SLURM_ARRAY_TASK_STEP={step}')
    index = (tid - lo) // step
    if count < 1 or not 0 <= index < count:
        raise LaunchError(
            f'Slurm array task {tid} is index {index}, outside 0..{count - 1} '
            f'(SLURM_ARRAY_TASK_MIN={lo}, COUNT={count}): use '
            '--array=0-(N-1) or set SLURM_ARRAY_TASK_MIN')
    return index, count


def resolve_launch(shard: Optional[int] = None,
                   num_shards: Optional[int] = None,
                   env: Optional[Mapping[str, str]] = None) -> Launch:
    """This process's shard and local rank (precedence in the module doc).

    Args:
        shard: Explicit shard index (``--shard``), or None.
        num_shards: Explicit shard count (``--num-shards``), or None.
        env: Environment mapping (default ``os.environ``).

    Returns:
        Launch: Global shard ``index`` of ``count``, ``local_rank``, source.

    Raises:
        LaunchError: Contradictory, incomplete or out-of-range settings; the
            message is one line naming the variables and the fix.
    """
    env = os.environ if env is None else env
    q, n, local, source = _processes(env)
    arr = _array(env)
    index, count = q, n
    if arr is not None:
        a, c = arr
        index, count = a * n + q, c * n
        source = (f'Slurm array task {a} of {c}' if n == 1 else
                  f'Slurm array task {a} of {c} x {source}')
    if shard is None and num_shards is None:
        return Launch(index, count, local, source)
    if shard is None or num_shards is None:
        raise LaunchError('give both --shard and --num-shards')
    shard, num_shards = int(shard), int(num_shards)
    if num_shards < 1 or not 0 <= shard < num_shards:
        raise LaunchError(f'bad shard {shard} of {num_shards}: need '
                          '0 <= --shard < --num-shards')
    if count > 1 and (shard, num_shards) != (index, count):
        raise LaunchError(
            f'--shard {shard} --num-shards {num_shards} contradicts the launch '
            f'({source}: shard {index} of {count}); every process would do '
            'the same shard: drop --shard/--num-shards (the launch shards '
            'the job) or run one process per command')
    return Launch(shard, num_shards, local,
                  'explicit --shard' if count == 1 else source)


def resolve_device(requested: Optional[str], cuda_count: int,
                   local_rank: Optional[int] = None, what: str = 'this step',
                   cpu_flag: str = '--device cpu',
                   env: Optional[Mapping[str, str]] = None) -> str:
    """Turn a device request into a torch device string; never falls back.

    Args:
        requested: ``'auto'``/``'cuda'`` (this local rank's GPU),
            ``'cuda:I'`` (that GPU), ``'cpu'``.
        cuda_count: ``torch.cuda.device_count()`` (GPUs visible).
        local_rank: Process index on the node; None: from the launcher
            (:func:`resolve_launch` on ``env``).
        what: What runs there, for the message (``'RAFT'``).
        cpu_flag: The option that asks for the CPU, named in the message.
        env: Environment mapping (default ``os.environ``).

    Returns:
        str: ``'cpu'`` or ``'cuda:I'``.

    Raises:
        NoGPUError: A GPU was asked for and none is visible.
        ValueError: An unknown device or a GPU index past the visible ones.
    """
    req = (requested or 'auto').strip().lower()
    if req == 'cpu':
        return 'cpu'
    if req not in ('auto', 'cuda') and not req.startswith('cuda:'):
        raise ValueError(f'device must be auto, cpu, cuda or cuda:I, got '
                         f'{requested!r}')
    if cuda_count < 1:
        vis = os.environ.get('CUDA_VISIBLE_DEVICES')
        seen = '' if vis is None else f' (CUDA_VISIBLE_DEVICES={vis!r})'
        raise NoGPUError(
            f'{what} asked for a GPU ({req}) but none is visible{seen}; ask '
            'the scheduler for one (--gres=gpu:N / --gpus-per-task=1), or '
            f'pass {cpu_flag} to run on the CPU on purpose')
    if req.startswith('cuda:'):
        try:
            idx = int(req.split(':', 1)[1])
        except ValueError:
            raise ValueError(f'bad device {requested!r}') from None
        if not 0 <= idx < cuda_count:
            raise ValueError(f'device {requested} but only {cuda_count} '
                             'GPU(s) are visible')
        return f'cuda:{idx}'
    if local_rank is None:
        local_rank = resolve_launch(env=env).local_rank
    return f'cuda:{int(local_rank) % cuda_count}'
