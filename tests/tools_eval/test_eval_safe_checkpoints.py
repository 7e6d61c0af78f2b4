"""Third-party checkpoints are read weights-only: a file whose pickle would
run code is refused (nothing runs) by every loader and tool, and runs only
with an explicit --trust-checkpoint / trust=True."""
import argparse
import os
import os.path as osp
import shlex
from collections import OrderedDict

import numpy as np
import pytest
import torch

import pico_eval_tiny_data as tiny  # tests/_helpers
from pico_mm.utils import safe_load
from pico_mm.utils.safe_load import (UntrustedCheckpointError,
                                     load_checkpoint_file)


class _RunsCode:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}', )


@pytest.fixture
def evil(tmp_path):
    """A checkpoint that looks normal but carries code; and its marker."""
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'moco_v2_800ep_pretrain.pth.tar')
    torch.save({'state_dict': {'module.encoder_q.conv1.weight':
                               torch.zeros(2, 3, 1, 1)},
                'meta': _RunsCode(marker)}, path)
    yield path, marker
    safe_load.trust_checkpoints(False)


def test_refused_unless_trusted_and_the_pickle_really_runs_code(evil):
    path, marker = evil
    with pytest.raises(UntrustedCheckpointError) as e:
        load_checkpoint_file(path)
    msg = str(e.value)
    assert msg.startswith(path) and '--trust-checkpoint' in msg
    assert 'system' in msg  # names the refused global
    assert not osp.exists(marker)
    ckpt = load_checkpoint_file(path, trust=True)  # explicit trust: it runs
    assert osp.exists(marker) and ckpt['meta'] == 0
    os.remove(marker)
    safe_load.trust_checkpoints(True)  # the tools' --trust-checkpoint switch
    load_checkpoint_file(path)
    assert osp.exists(marker)


def _moco(path):
    from mmselfsup.registry import MODELS
    from pico_mm.models.utils import load_moco_backbone
    net = MODELS.build(dict(type='mmselfsup.ResNet', depth=18))
    load_moco_backbone(net, path)


def _raft(path):
    from pico_mm.flow.raft_convert import load_raft_state_dict
    load_raft_state_dict(path)


@pytest.mark.parametrize('loader', [_moco, _raft], ids=['moco', 'raft'])
def test_library_loaders_refuse(loader, evil):
    path, marker = evil
    with pytest.raises(UntrustedCheckpointError, match='--trust-checkpoint'):
        loader(path)
    assert not osp.exists(marker)


@pytest.mark.parametrize('tool,args,code', [
    ('tools/model_converters/pico2mm.py', ['OUT', '--target', 'mmseg'], 1),
    ('tools/model_converters/mmflow2torchvision_raft.py', ['OUT'], 2),
    ('tools/benchmark.py', ['--dry-run', '--work-dir', 'W'], 1),
])
def test_tools_refuse_with_one_error_line(tool, args, code, evil, tmp_path,
                                          capsys):
    path, marker = evil
    args = [str(tmp_path / a) if a in ('OUT', 'W') else a for a in args]
    assert tiny.load_tool(tool).main([path] + args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and path in err[0] and '--trust-checkpoint' in \
        err[0], err
    assert not osp.exists(marker)
    assert not osp.exists(tmp_path / 'OUT')


def test_what_real_checkpoints_hold_loads_weights_only(tmp_path):
    """MoCo-style args Namespace, numpy metadata, OrderedDict, and an
    mmengine message hub (HistoryBuffer) are allow-listed."""
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    path = str(tmp_path / 'ok.pth')
    torch.save({'args': argparse.Namespace(arch='resnet50', lr=0.03),
                'meta': {'seed': np.int64(3), 'hist': np.arange(3.)},
                'message_hub': {'log_scalars': {'loss': buf}},
                'state_dict': OrderedDict(w=torch.ones(2))}, path)
    ckpt = load_checkpoint_file(path)
    assert ckpt['args'].arch == 'resnet50' and ckpt['meta']['seed'] == 3
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_train_and_test_tools_have_the_flag():
    from pico_mm.utils.runner_cli import load_cfg
    train = tiny.load_tool('tools/train.py')
    cfg = osp.join(tiny.REPO, 'configs/pico/pico_r18-fpn_tiny_cpu.py')
    try:
        load_cfg(train.parse_args([cfg, '--trust-checkpoint']))
        assert safe_load.checkpoints_trusted()
    finally:
        safe_load.trust_checkpoints(False)
    load_cfg(train.parse_args([cfg]))
    assert not safe_load.checkpoints_trusted()
    test = tiny.load_tool('tools/test.py')
    assert test.parse_args([cfg, 'x.pth', '--trust-checkpoint']
                           ).trust_checkpoint
