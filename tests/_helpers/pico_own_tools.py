"""Run MMSeg's / MMDet's own ``tools/*.py`` (shipped in the wheels under
``<package>/.mim/tools``) in this process and return what its Runner did.

Not a test module (``tests/conftest.py`` puts ``tests/_helpers`` on
``sys.path``).
"""
import importlib
import os.path as osp
import runpy
import sys
from typing import List


def own_tool(package: str, script: str) -> str:
    """Path of ``<package>/.mim/tools/<script>`` (e.g. mmdet, test.py)."""
    root = osp.dirname(importlib.import_module(package).__file__)
    return osp.join(root, '.mim', 'tools', script)


def run_own_tool(package: str, script: str, argv: List[str]) -> dict:
    """Run the package's own script as ``__main__`` with ``argv``.

    Returns:
        dict: The metrics its ``Runner.test()`` (or ``Runner.val()``)
        returned (recorded by wrapping the Runner method).
    """
    from mmengine.runner import Runner
    path = own_tool(package, script)
    seen = {}
    orig_test = Runner.test

    def test(self):
        seen.update(orig_test(self))
        return seen

    old_argv = sys.argv
    sys.argv = [path] + list(argv)
    Runner.test = test
    try:
        runpy.run_path(path, run_name='__main__')
    finally:
        Runner.test = orig_test
        sys.argv = old_argv
    return seen
