"""The stack imports, pico_mm's import boundaries hold."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(code):
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_stack_versions_and_compiled_ops():
    import cv2
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    import mmselfsup
    import numpy as np
    import torch
    from mmcv.ops import RoIAlign, nms

    assert np.__version__ == '1.26.4'
    assert mmcv.__version__ == '2.0.1'
    assert mmengine.__version__ == '0.10.7'
    assert mmselfsup.__version__ == '1.0.0'
    assert mmdet.__version__ == '3.3.0'
    assert mmseg.__version__ == '1.2.2'
    assert cv2.__version__.startswith('4.11')
    # compiled ops really run
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feat = torch.arange(16.).view(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    assert out.shape == (1, 1, 2, 2)


def test_readme_import_line():
    _run('import pico_mm, mmselfsup, mmseg, mmdet; '
         'from mmcv.ops import RoIAlign, nms')


def test_import_pico_mm_does_not_import_mmseg_or_mmdet():
    out = _run('import sys, pico_mm; '
               'print(sorted(m for m in sys.modules '
               "if m.split('.')[0] in ('mmseg', 'mmdet')))")
    assert out.strip() == '[]', out


def test_flow_and_tracking_core_import_without_mmengine_mmcv():
    code = ('import sys\n'
            "for m in ('mmengine', 'mmcv', 'mmselfsup', 'mmcls', 'mmseg', 'mmdet'):\n"
            '    sys.modules[m] = None  # any import of them now raises\n'
            'import pico_mm.flow, pico_mm.tracking\n'
            'print(pico_mm.flow.read_flow, pico_mm.tracking.load_tracks)\n')
    _run(code)


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py',
                                  'tools/benchmark.py'])
def test_tool_help(tool):
    assert 'usage' in _run(f'import runpy, sys; sys.argv=["{tool}", "--help"]\n'
                           f'try:\n    runpy.run_path("{tool}", run_name="__main__")\n'
                           'except SystemExit:\n    pass')


def test_train_default_work_dir_without_slash():
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    try:
        import importlib
        train = importlib.import_module('train')
    finally:
        sys.path.pop(0)
    assert train.default_work_dir('my_cfg.py') == os.path.join('./work_dirs', 'my_cfg')
    assert train.default_work_dir('configs/pico/a/b.py') == os.path.join('./work_dirs', 'b')
