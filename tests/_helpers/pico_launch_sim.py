"""Simulate launchers (torchrun, srun, Slurm arrays) with real processes.

``python pico_launch_sim.py SPEC.json RESULT.json``: SPEC is
``{"tool": path, "preload": [module, ...], "shapes": {name: {"argv": [...],
"envs": [{...}, ...], "extra": [[...], ...]}}}`` (``extra``, optional: more
arguments per process). :func:`launch_shapes` gives the environments of
each launch shape.
For each shape, one process per env is started at once (as the launcher
would), with exactly that launcher environment (every launcher variable of
the calling environment removed), and runs the tool's ``main(argv)``; the
shapes run one after another. RESULT maps each shape to a list of
``{"env", "rc", "stdout", "stderr"}``.

The processes are forked from this interpreter after it imported the tool
and the modules the tool imports lazily (``preload``) once: a fresh
interpreter imports pico_mm's whole OpenMMLab stack, seconds per process on a
small machine. Everything the tool reads about its launch
it reads from ``os.environ`` in its own process, as it does under a real
launcher. Import :func:`launcher_free_env` for subprocesses of other tests.
"""
import importlib
import importlib.util
import json
import os
import sys
import tempfile

LAUNCH_PREFIXES = ('SLURM_', 'TORCHELASTIC_')
LAUNCH_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE',
               'GROUP_RANK', 'GROUP_WORLD_SIZE', 'ROLE_RANK',
               'ROLE_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


BATCH = {'SLURM_JOB_ID': '77', 'SLURM_PROCID': '0', 'SLURM_NTASKS': '1',
         'SLURM_LOCALID': '0'}  # what the batch script of a plain sbatch sees


def torchrun(rank: int, world: int, local_world: int, **extra) -> dict:
    """Variables torchrun gives worker ``rank`` (``local_world`` per node)."""
    return dict(RANK=str(rank), WORLD_SIZE=str(world),
                LOCAL_RANK=str(rank % local_world),
                LOCAL_WORLD_SIZE=str(local_world),
                GROUP_RANK=str(rank // local_world), **extra)


def srun_task(p: int, s: int, per_node: int = 0, **extra) -> dict:
    """Variables srun gives task ``p`` of ``s`` (``per_node`` per node)."""
    per_node = per_node or s
    return dict(SLURM_JOB_ID='77', SLURM_STEP_ID='0', SLURM_PROCID=str(p),
                SLURM_NTASKS=str(s), SLURM_STEP_NUM_TASKS=str(s),
                SLURM_LOCALID=str(p % per_node), **extra)


def array_task(i: int, n: int, lo: int = 0, count: bool = True) -> dict:
    """Batch script of array task ``i`` of ``--array=lo-(lo+n-1)``;
    ``count=False``: without ``SLURM_ARRAY_TASK_COUNT`` (old Slurm)."""
    env = dict(BATCH, SLURM_ARRAY_TASK_ID=str(lo + i),
               SLURM_ARRAY_TASK_MIN=str(lo),
               SLURM_ARRAY_TASK_MAX=str(lo + n - 1),
               SLURM_ARRAY_TASK_STEP='1', SLURM_ARRAY_JOB_ID='70')
    if count:
        env['SLURM_ARRAY_TASK_COUNT'] = str(n)
    return env


def launch_shapes() -> dict:
    """Launch shape name -> one environment per process it starts."""
    return {
        'one process': [{}],
        'plain sbatch': [dict(BATCH)],
        'torchrun, one node': [torchrun(r, 4, 4) for r in range(4)],
        'torchrun, two nodes': [torchrun(r, 8, 4) for r in range(8)],
        'srun -n 3': [srun_task(p, 3) for p in range(3)],
        'srun, 2 nodes x 2': [srun_task(p, 4, 2) for p in range(4)],
        'array of 3 (--array=1-3)': [array_task(i, 3, lo=1) for i in range(3)],
        'array without COUNT': [array_task(i, 3, count=False)
                                for i in range(3)],
        'torchrun x2 in array of 2': [dict(array_task(a, 2), **torchrun(r, 2, 2))
                                      for a in range(2) for r in range(2)],
        'srun -n 2 in array of 3': [dict(array_task(a, 3), **srun_task(p, 2))
                                    for a in range(3) for p in range(2)],
        'multi-node torchrun under srun': [
            dict(srun_task(r // 4, 2, 1), **torchrun(r, 8, 4))
            for r in range(8)],
        'standalone torchrun in each srun task': [
            dict(srun_task(p, 2, 1), **torchrun(r, 4, 4))
            for p in range(2) for r in range(4)],
        'srun workers with RANK=SLURM_PROCID': [
            dict(srun_task(p, 3), RANK=str(p), WORLD_SIZE='3')
            for p in range(3)],
        'torchrun under srun, in an array of 2': [
            dict(array_task(a, 2), **srun_task(0, 1), **torchrun(r, 2, 2))
            for a in range(2) for r in range(2)],
    }


def launcher_free_env(base=None, **extra) -> dict:
    """``base`` (default ``os.environ``) without launcher variables, plus
    ``extra``: a test must not inherit the shard of the job running it."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in LAUNCH_VARS and not k.startswith(LAUNCH_PREFIXES)}
    env.update(extra)
    return env


def clear_launcher_env(monkeypatch) -> None:
    """Remove this process's launcher variables for one test (pytest's
    ``monkeypatch``): the test runs as one process, whatever runs it."""
    for key in set(os.environ) - set(launcher_free_env()):
        monkeypatch.delenv(key)


def _child(main, argv, env, out, err) -> None:
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, 'w', closefd=False)
    sys.stderr = open(2, 'w', closefd=False)
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - report it as the process would
        import traceback
        traceback.print_exc()
        rc = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(rc or 0))


def run_shapes(spec: dict) -> dict:
    """Run every shape of ``spec`` (see the module doc); returns RESULT."""
    s = importlib.util.spec_from_file_location('launch_sim_tool', spec['tool'])
    tool = importlib.util.module_from_spec(s)
    s.loader.exec_module(tool)
    for mod in spec.get('preload', ()):
        importlib.import_module(mod)
    base = launcher_free_env()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, shape in spec['shapes'].items():
            procs = []
            extra = shape.get('extra') or [[]] * len(shape['envs'])
            for i, (env, more) in enumerate(zip(shape['envs'], extra)):
                out, err = (os.path.join(tmp, f'{len(results)}_{i}.{k}')
                            for k in ('out', 'err'))
                pid = os.fork()
                if pid == 0:
                    _child(tool.main, [*shape['argv'], *more],
                           dict(base, **env), out, err)
                procs.append((pid, env, out, err))
            rows = []
            for pid, env, out, err in procs:
                _, status = os.waitpid(pid, 0)
                rows.append(dict(env=env, rc=os.waitstatus_to_exitcode(status),
                                 stdout=open(out).read(),
                                 stderr=open(err).read()))
            results[name] = rows
    return results


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        spec_ = json.load(f)
    with open(sys.argv[2], 'w') as f:
        json.dump(run_shapes(spec_), f)
