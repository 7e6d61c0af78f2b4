"""Flow backends: DIS sanity, RAFT vs the MMFlow golden fixture, conversion."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from pico_mm.flow.backends import (DISBackend, RAFTBackend, auto_device, build_backend,
                                   centred_pad)
from pico_mm.flow.raft_convert import (convert_mmflow_raft, detect_format, map_key,
                                       unwrap_state_dict)
from pico_mm.utils.shard_env import NoGPUError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, '..', 'shared', 'fixtures', 'mmflow_raft')
CKPT = os.path.join(FIX, 'raft_mixed_seed0_state_dict.pth')


def textured_pair(dx=3.0, dy=-2.0, h=96, w=128, seed=0):
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (h + 40, w + 40, 3)).astype(np.float32),
                           (0, 0), 2.5)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(big, m, (w + 40, h + 40), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    return big[20:20 + h, 20:20 + w], moved[20:20 + h, 20:20 + w]


@pytest.mark.parametrize('dx,dy', [(3.0, -2.0), (1.5, 0.5)])
def test_dis_recovers_translation(dx, dy):
    a, b = textured_pair(dx, dy)
    fwd, bwd = DISBackend('medium')(a[None], b[None])
    assert fwd.shape == (1, 96, 128, 2) and fwd.dtype == np.float32
    core = (slice(None), slice(16, -16), slice(16, -16))
    med_f = np.median(fwd[core].reshape(-1, 2), 0)
    med_b = np.median(bwd[core].reshape(-1, 2), 0)
    np.testing.assert_allclose(med_f, [dx, dy], atol=0.15)
    np.testing.assert_allclose(med_b, [-dx, -dy], atol=0.15)


def test_backend_input_checks():
    with pytest.raises(ValueError):
        DISBackend()(np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match='raft-checkpoint'):
        build_backend('raft')
    with pytest.raises(ValueError, match='unknown'):
        build_backend('farneback')


def test_auto_device_follows_local_rank_and_never_means_cpu():
    with pytest.raises(NoGPUError, match='none is visible.*--device cpu'):
        auto_device(0, {'LOCAL_RANK': '3'})
    assert auto_device(4, {}) == 'cuda:0'
    assert auto_device(4, {'LOCAL_RANK': '3'}) == 'cuda:3'
    assert auto_device(2, {'SLURM_LOCALID': '3'}) == 'cuda:1'
    # torchrun inside an srun task: LOCAL_RANK, not SLURM_LOCALID
    assert auto_device(8, {'LOCAL_RANK': '5', 'SLURM_LOCALID': '0'}) == 'cuda:5'


def test_centred_pad_matches_mmflow_and_min_size():
    assert centred_pad(123, 157) == (2, 3, 1, 2)      # fixture's `pad`
    assert centred_pad(256, 456) == (0, 0, 0, 0)
    assert centred_pad(100, 300) == (14, 14, 2, 2)    # below torchvision's 128


def test_key_mapping_is_one_to_one():
    keys = [ln.split('\t')[0] for ln in open(os.path.join(FIX, 'state_dict_keys.txt'))
            if ln.strip()]
    assert len(keys) == 169
    mapped = [map_key(k) for k in keys]
    assert len(set(mapped)) == 169
    from torchvision.models.optical_flow import raft_large
    assert set(mapped) == set(raft_large(weights=None).state_dict())


def test_converter_names_unmapped_keys():
    sd = unwrap_state_dict(torch.load(CKPT, map_location='cpu', weights_only=True))
    assert detect_format(sd) == 'mmflow'
    bad = dict(sd)
    bad['decoder.extra_head.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match='decoder.extra_head.weight'):
        convert_mmflow_raft(bad)
    short = {k: v for k, v in sd.items() if not k.startswith('decoder.gru.conv_q')}
    with pytest.raises(ValueError, match='convq'):
        convert_mmflow_raft(short)
    out = convert_mmflow_raft(sd)
    w = 'feature_encoder.convnormrelu.0.weight'
    assert torch.equal(out[w], sd['encoder.conv1.weight'].flip(1))


@pytest.mark.parametrize('iters,tol', [(12, 1e-3), (32, 1e-2)])
def test_raft_reproduces_mmflow_fixture(iters, tol):
    """Same class the extraction tool builds (build_backend('raft', ...))."""
    torch.set_num_threads(1)
    d = np.load(os.path.join(FIX, 'padcase.npz'))
    be = build_backend('raft', checkpoint=CKPT, iters=iters, device='cpu')
    assert isinstance(be, RAFTBackend) and be.checkpoint_format == 'mmflow'
    fwd, bwd = be(d['img1'][None], d['img2'][None])
    ref = d[f'flow_iters{iters}']
    assert fwd.shape == (1, 123, 157, 2) and bwd.shape == fwd.shape
    err = np.abs(fwd[0] - ref).max()
    assert err < tol, err
    assert np.abs(ref).max() > 30  # the reference is far from trivial


def _converter():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mmflow2torchvision_raft',
        os.path.join(ROOT, 'tools', 'model_converters', 'mmflow2torchvision_raft.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_converted_file_runs_identically(tmp_path, capsys):
    torch.set_num_threads(1)
    out = str(tmp_path / 'tv.pth')
    main = _converter()
    assert main([CKPT, out]) == 0
    assert '169' in capsys.readouterr().out and os.path.isfile(out)
    d = np.load(os.path.join(FIX, 'padcase.npz'))
    be = RAFTBackend(out, iters=12, device='cpu')
    assert be.checkpoint_format == 'torchvision'
    fwd, _ = be(d['img1'][None], d['img2'][None])
    assert np.abs(fwd[0] - d['flow_iters12']).max() < 1e-3
    assert main([out, str(tmp_path / 'again.pth')]) == 2
    assert 'not an MMFlow RAFT' in capsys.readouterr().err


def test_converter_help_runs():
    r = subprocess.run([sys.executable, 'tools/model_converters/mmflow2torchvision_raft.py',
                        '--help'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and 'torchvision' in r.stdout
