"""Run a worker script as N gloo processes on this machine (not a test).

Each worker gets ``argv = [rank, world, out_dir, *args]`` and the
``MASTER_ADDR``/``MASTER_PORT`` of a free local port; it is expected to call
``torch.distributed.init_process_group('gloo', ...)`` itself and to write its
results under ``out_dir``.
"""
import os
import socket
import subprocess
import sys
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_gloo_workers(tmp_path, source: str, args, world: int = 2,
                     timeout: int = 120) -> None:
    """Write ``source`` to a file and run it as ``world`` processes.

    Args:
        tmp_path: Folder for the script and the workers' outputs.
        source (str): Python source of the worker.
        args (list[str]): Extra arguments after ``rank world out_dir``.
        world (int): Number of processes.
        timeout (int): Seconds to wait for each.

    Raises:
        AssertionError: a worker failed (its stderr tail is in the message),
            or the workers did not all finish within ``timeout`` seconds in
            total (a hung collective): they are then killed.
    """
    script = tmp_path / 'worker.py'
    script.write_text(source)
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    procs = [subprocess.Popen([sys.executable, str(script), str(r), str(world),
                               str(tmp_path), *map(str, args)], env=env,
                              stderr=subprocess.PIPE) for r in range(world)]
    deadline = time.monotonic() + timeout
    errs = []
    try:
        for p in procs:
            _, err = p.communicate(
                timeout=max(1.0, deadline - time.monotonic()))
            errs.append(err)
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        tails = [p.communicate()[1].decode()[-1000:] for p in procs]
        raise AssertionError(
            f'gloo workers still running after {timeout} s (a collective '
            'that not every process entered?); killed. stderr tails:\n' +
            '\n---\n'.join(tails)) from None
    for p, err in zip(procs, errs):
        assert p.returncode == 0, err.decode()[-2000:]
