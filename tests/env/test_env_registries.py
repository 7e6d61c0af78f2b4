"""pico_mm's classes land in the registries the configs build from."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(code):
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_import_pico_mm_registers_into_mmselfsup():
    import pico_mm  # noqa: F401
    from mmselfsup.registry import DATASETS, HOOKS, MODELS, TRANSFORMS
    for name in ('PiCo', 'PiCoFPNNeck', 'DenseProjectionHead', 'PixelInfoNCELoss'):
        assert MODELS.get(name) is not None, name
        assert MODELS.get(name).__module__.startswith('pico_mm.models'), name
    assert DATASETS.get('VideoCorrespondenceDataset') is not None
    for name in ('PackPiCoInputs', 'CorrespondenceViews', 'PointRandomResizedCrop',
                 'PointRandomFlip', 'PointResize'):
        assert TRANSFORMS.get(name) is not None, name
    assert HOOKS.get('CorrespondenceProbeHook') is not None
    # built through the mmselfsup scope, as configs with default_scope='mmselfsup' do
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmselfsup'):
        neck = ROOT_MODELS.build(dict(type='PiCoFPNNeck', in_channels=[8, 16, 32, 64],
                                      fpn_channels=16, decoder_channels=16,
                                      out_channels=8,
                                      norm_cfg=dict(type='GN', num_groups=4)))
    assert type(neck).__name__ == 'PiCoFPNNeck'


def test_seg_registers_into_mmseg_only_from_pico_mm_seg():
    out = _run('import pico_mm\n'
               'from mmselfsup.registry import MODELS as SSL\n'
               'import pico_mm.seg\n'
               "assert 'LinearProbeHead' not in SSL.module_dict\n"
               'from mmseg.registry import METRICS, MODELS\n'
               "for n in ('FrozenDenseEncoder', 'LinearProbeHead', 'LinearDepthHead'):\n"
               '    assert MODELS.get(n) is not None, n\n'
               "assert METRICS.get('FIoUMetric') is not None\n"
               "print('ok')\n")
    assert out.strip().endswith('ok')


def test_det_registers_frozen_fpn_into_mmdet():
    out = _run('import pico_mm.det\n'
               'from mmdet.registry import MODELS\n'
               "assert MODELS.get('FrozenFPN').__module__ == 'pico_mm.det.frozen_fpn'\n"
               "print('ok')\n")
    assert out.strip().endswith('ok')
