"""Run MMSeg's / MMDet's own ``tools/*.py`` (shipped in the wheels under
``<package>/.mim/tools``) in this process and return what its Runner did.

Not a test module (``tests/conftest.py`` puts ``tests/_helpers`` on
``sys.path``).
"""
import importlib
import json
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


def check_test_tools_reproduce(package: str, cfg, runner, metrics: dict,
                               tmp_path) -> None:
    """Save the trained weights of ``runner``; ``tools/test.py`` and
    ``package``'s own ``tools/test.py`` must evaluate them to exactly the
    ``metrics`` of the validation during training.

    Args:
        package (str): ``'mmseg'`` or ``'mmdet'``.
        cfg (Config): The config the runner was built from (dumped to a file).
        runner (Runner): Trained runner.
        metrics (dict): Its last validation metrics (every float compared).
        tmp_path (Path): Scratch folder.
    """
    from pico_eval_tiny_data import load_tool
    runner.save_checkpoint(str(tmp_path), 'trained.pth')
    ckpt, cfg_file = str(tmp_path / 'trained.pth'), str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    out = str(tmp_path / 'metrics.json')
    test = load_tool('tools/test.py')
    assert test.main([cfg_file, ckpt, '--work-dir', str(tmp_path / 'test'),
                      '--out', out]) == 0
    with open(out) as f:
        ours = json.load(f)
    own = run_own_tool(package, 'test.py', [
        cfg_file, ckpt, '--work-dir', str(tmp_path / 'own')])
    keys = [k for k, v in metrics.items() if isinstance(v, float)]
    assert keys and all(ours[k] == metrics[k] == own[k] for k in keys), (
        metrics, ours, own)
