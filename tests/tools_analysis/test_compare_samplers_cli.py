"""tools/analysis/compare_samplers.py: argument errors fail fast, in one line.

The training path is run by tests/demo/test_demo_quick.py (same arms module);
aggregation and the goal check are tested in tests/demo/test_demo_compare.py.
"""
import os.path as osp

import pytest

from pico_test_tools import ToolRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis', 'compare_samplers.py')


@pytest.fixture(scope='module')
def tool():
    return ToolRunner(TOOL, 'pico_compare_tool')


@pytest.mark.parametrize('argv,message', [
    (['--encoder', 'missing.pth'], "--encoder missing.pth: not a checkpoint"),
    (['--seeds', '0', '0'], '--seeds has duplicates'),
    (['--arms', 'moco'], "invalid choice: 'moco'"),
    (['--splits', 'train'], "invalid choice: 'train'"),
])
def test_bad_arguments(tool, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        tool.module.main(argv + ['--work-dir', str(tmp_path)])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing was started


def test_demo_arguments_are_shared(tool, tmp_path):
    demo = tool.module
    from pico_mm.demo import stages
    args = demo.parse_args(['--quick', '--iters', '3', '--data', 'synthetic',
                            '--work-dir', str(tmp_path)])
    dargs = demo.demo_args(args, stages.tool_module(demo.DEMO))
    assert dargs.preset['iters'] == 3 and dargs.preset['gt_pairs'] == 2
    assert dargs.data == 'synthetic' and dargs.seed == 0 and dargs.fps == 30
    assert args.splits == ['val', 'test'] and args.gt_size is None
    args = demo.parse_args(['--splits', 'val', '--gt-size', '64', '80',
                            '--work-dir', str(tmp_path)])
    assert args.splits == ['val'] and args.gt_size == [64, 80]
