"""Run a ``tools/`` script in tests: its ``main()`` in-process or as a process.

Importable from any test because ``tests/conftest.py`` puts this folder on
``sys.path`` (tests/ has no ``__init__.py``; see pytest.ini).
"""
import contextlib
import importlib.util
import io
import os
import subprocess
import sys
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ToolResult:
    """``returncode``, ``stdout`` and ``stderr`` of one tool run."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class ToolRunner:
    """A script under ``tools/`` with a ``main(argv)`` entry point.

    Args:
        path (str): Path of the script.
        name (str): Module name to load it under.
        extra_args (list[str], optional): Appended to every in-process run
            (e.g. ``['--no-progress']``).
    """

    def __init__(self, path: str, name: str, extra_args: Optional[List[str]] = None):
        self.path = path
        self.extra_args = list(extra_args or [])
        spec = importlib.util.spec_from_file_location(name, path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)

    def run(self, *args) -> ToolResult:
        """Run ``main()`` in this process (the import is the slow part)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = self.module.main([*args, *self.extra_args])
        return ToolResult(rc, out.getvalue(), err.getvalue())

    def run_script(self, *args, timeout: int = 300) -> subprocess.CompletedProcess:
        """Run the script as a user does (own process)."""
        env = dict(os.environ, OMP_NUM_THREADS='1')
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)
        return subprocess.run([sys.executable, self.path, *args], capture_output=True,
                              text=True, env=env, timeout=timeout)
