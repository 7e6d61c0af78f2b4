"""Exploration helpers of issue 19: the frozen encoder's own features on video PCK."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from pico_mm.demo import prereg_explore

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _rendered(root):
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'data', 'render_clips.py'),
                    str(root), '--splits', 'val', '--clips', '1', '--frames', '34',
                    '--size', '48', '64'], check=True, capture_output=True)


def test_encoder_only_scores_the_backbone_alone(tmp_path):
    from mmselfsup.models.backbones import ResNet

    from pico_mm.demo.encoders import save_backbone
    _rendered(tmp_path / 'rendered')
    torch.manual_seed(0)
    net = ResNet(depth=18)
    net.init_weights()
    enc = save_backbone(net, str(tmp_path / 'enc.pth'), kind='test')
    (tmp_path / 'data.json').write_text(json.dumps(
        dict(render_eval=str(tmp_path / 'rendered'))))
    (tmp_path / 'encoders.json').write_text(json.dumps(
        dict(e2=dict(path=enc, sha256='x', kind='bn-random'))))
    res = prereg_explore.encoder_only(str(tmp_path), 'e2', 'val')
    assert res['points'] > 0 and 0 <= res['acc'] <= 1
    # a constant embedding cannot match: the backbone's features are what is scored
    assert res['acc'] > res['chance']


def test_encoder_only_names_a_missing_encoder(tmp_path):
    (tmp_path / 'data.json').write_text(json.dumps(dict(render_eval='x')))
    (tmp_path / 'encoders.json').write_text(json.dumps({}))
    with pytest.raises(SystemExit, match=r"encoders.json: no encoder 'e1'; run "
                       r'`tools/analysis/prereg_experiment.py encoders'):
        prereg_explore.encoder_only(str(tmp_path), 'e1')
