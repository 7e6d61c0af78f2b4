"""CorrespondenceProbeHook (B5) with a toy model and a hand-made runner."""
import json
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmengine.logging import MessageHub, MMLogger  # noqa: E402
from mmengine.visualization import Visualizer  # noqa: E402
from mmselfsup.registry import HOOKS  # noqa: E402

from pico_mm.demo.synthetic import SceneConfig, render_video, write_video  # noqa: E402
from pico_mm.engine.hooks.correspondence_probe_hook import (  # noqa: E402
    CorrespondenceProbeHook, model_embed_fn)
from pico_mm.tracking import Tracks, save_tracks  # noqa: E402

torch.set_num_threads(1)


class PatchModel(nn.Module):
    """Toy model: 'tensor' mode gives stride-4 local-patch features of the image.

    ``scramble=True`` replaces them by per-image random features (chance level).
    """

    def __init__(self, scramble=False):
        super().__init__()
        from mmselfsup.models.utils import SelfSupDataPreprocessor
        self.data_preprocessor = SelfSupDataPreprocessor(
            mean=(0., 0., 0.), std=(255., 255., 255.), bgr_to_rgb=True)
        self.scramble = scramble
        self.calls = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'tensor'
        x = inputs[0]
        self.calls.append((self.training, tuple(x.shape), float(x.max())))
        if self.scramble:
            g = torch.Generator().manual_seed(len(self.calls))
            return torch.randn(x.shape[0], 16, x.shape[2] // 4, x.shape[3] // 4,
                               generator=g)
        x = F.avg_pool2d(x, 3, 1, 1)
        p = F.unfold(x, 7, padding=3).reshape(x.shape[0], -1, *x.shape[2:])
        p = p - p.mean(1, keepdim=True)
        return [F.avg_pool2d(p, 4, 4)]


def _write_translating(path, seed, num_frames, step, xy0):
    """Video whose content moves by ``(step, step)`` px per frame, and the exact
    tracks of the points ``xy0`` (N×2) in it; returns the track file."""
    big = render_video(seed, SceneConfig(height=104, width=120, num_frames=1,
                                         num_objects=0))[0]
    frames = [np.ascontiguousarray(big[20 - step * t:84 - step * t,
                                       20 - step * t:100 - step * t])
              for t in range(num_frames)]
    video = write_video(frames, str(path.parent / path.stem), 30)
    n, T = len(xy0), num_frames
    pts = (xy0[:, None] + step * np.arange(T)[None, :, None]).reshape(-1, 2)
    tracks = Tracks(start=np.zeros(n), length=np.full(n, T), stop=np.zeros(n),
                    points=pts.astype(np.float32),
                    terms=np.zeros((n * (T - 1), 2), np.float16), num_frames=T,
                    frame_size=(64, 80),
                    meta=dict(source=video, fps=30, short_side=None, alpha=0.01,
                              beta=0.5))
    out = str(path.parent / 'tracks' / (path.stem + '.npz'))
    save_tracks(out, tracks)
    return out


@pytest.fixture()
def track_dir(tmp_path):
    """A video that translates by (1, 1) px per frame and its exact tracks."""
    rng = np.random.default_rng(0)
    xy0 = np.stack([rng.uniform(8, 52, 300), rng.uniform(8, 36, 300)], 1)
    _write_translating(tmp_path / 'vid', 2, 20, 1, xy0)
    return str(tmp_path / 'tracks')


def _runner(model, tmp_path, it=0):
    name = f'probe_test_{id(model)}_{it}'
    vis = Visualizer(name=name, vis_backends=[dict(type='LocalVisBackend')],
                     save_dir=str(tmp_path / 'vis'))
    return SimpleNamespace(model=model, iter=it, visualizer=vis,
                           message_hub=MessageHub.get_instance(name),
                           logger=MMLogger.get_instance(name))


def _scalars(tmp_path):
    path = osp.join(str(tmp_path / 'vis'), 'vis_data', 'scalars.json')
    return [json.loads(ln) for ln in open(path)]


def test_registered():
    hook = HOOKS.build(dict(type='CorrespondenceProbeHook', tracks='x'))
    assert isinstance(hook, CorrespondenceProbeHook)


def test_embed_fn_normalises_bgr_batch():
    model = PatchModel()
    batch = torch.zeros(2, 3, 16, 20, dtype=torch.uint8)
    batch[:, 0] = 255  # blue in BGR
    out = model_embed_fn(model)(batch)
    assert out.shape == (2, 147, 4, 5)
    assert model.calls[-1][1:] == ((2, 3, 16, 20), 1.0)


def test_probe_logs_high_accuracy_for_patch_features(track_dir, tmp_path):
    model = PatchModel().train()
    runner = _runner(model, tmp_path)
    hook = CorrespondenceProbeHook(tracks=track_dir, interval=2, gap=6,
                                   pairs_per_video=3, points_per_pair=100)
    hook.before_train(runner)  # probes the initial network (step 0)
    assert model.training and model.calls[0][0] is False  # eval while probing
    acc0 = runner.message_hub.get_scalar('probe/acc').current()
    assert acc0 >= 0.75  # mp4v-compressed frames; chance is ~0.01
    n_calls = len(model.calls)
    runner.iter = 0
    hook.after_train_iter(runner, 0)  # iter 1: not a multiple of 2
    assert len(model.calls) == n_calls
    runner.iter = 1
    hook.after_train_iter(runner, 1)  # iter 2: probe
    assert len(model.calls) > n_calls
    runner.iter = 2  # the loop has advanced past the last iteration
    hook.after_train(runner)  # already probed at this iteration: skipped
    recs = _scalars(tmp_path)
    assert [r['step'] for r in recs] == [0, 2]
    assert all(r['probe/acc'] >= 0.75 and 0 < r['probe/chance'] < 0.1 for r in recs)
    # Every tracked point moved (1, 1) px per frame, 6 frames: 8.5 px > 1 cell,
    # so the moving points are all points and no point is static.
    assert all(r['probe/acc_all'] == r['probe/acc'] for r in recs)
    assert all('probe/acc_static' not in r for r in recs)  # NaN: not plotted
    assert all(r['probe/zero_motion'] == 0.0 for r in recs)


def test_probe_random_features_near_chance(track_dir, tmp_path):
    model = PatchModel(scramble=True)
    runner = _runner(model, tmp_path, it=5)
    hook = CorrespondenceProbeHook(tracks=track_dir, interval=0, gap=6,
                                   before_train=False, pairs_per_video=3)
    hook.before_train(runner)
    assert not model.calls
    hook.after_train(runner)
    (rec, ) = _scalars(tmp_path)
    assert rec['step'] == 5
    assert rec['probe/acc'] < rec['probe/chance'] + 0.05


def test_missing_tracks_is_one_clear_error(tmp_path):
    hook = CorrespondenceProbeHook(tracks=str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='track_points.py'):
        hook.before_train(_runner(PatchModel(), tmp_path))


def test_probe_headline_is_moving_points(tmp_path):
    """A model whose features encode only the position: perfect on still points,
    so the old all-points number was high; the headline (moving) stays low."""
    # Two held-out videos with the same points: one still, one translating.
    rng = np.random.default_rng(1)
    xy0 = np.stack([rng.uniform(12, 60, 100), rng.uniform(12, 40, 100)], 1)
    files = [_write_translating(tmp_path / name, 3, 12, step, xy0)
             for name, step in (('still', 0), ('move', 1))]

    class PositionModel(PatchModel):
        def forward(self, inputs, data_samples=None, mode='tensor'):
            x = inputs[0]
            h, w = x.shape[2] // 4, x.shape[3] // 4
            yy, xx = torch.meshgrid(torch.arange(h * 1.), torch.arange(w * 1.),
                                    indexing='ij')
            c = torch.stack([xx, yy]).reshape(2, -1).t()
            code = torch.exp(-torch.cdist(c, c)**2 / 2).t().reshape(-1, h, w)
            return code[None].expand(x.shape[0], -1, -1, -1)

    runner = _runner(PositionModel(), tmp_path)
    hook = CorrespondenceProbeHook(tracks=files, interval=0, gap=8,
                                   pairs_per_video=2, points_per_pair=100)
    hook.before_train(runner)
    (rec, ) = _scalars(tmp_path)
    assert rec['probe/acc_static'] == 1.0
    assert rec['probe/acc'] < 0.05  # moved 11.3 px: position features miss
    assert rec['probe/acc_all'] == pytest.approx(0.5, abs=0.03)


def test_exact_gt_hook_logs_per_kind(tmp_path):
    from pico_mm.engine.hooks.exact_gt_probe_hook import ExactGTProbeHook
    hook = HOOKS.build(dict(type='ExactGTProbeHook', split='val',
                            pairs_per_kind=2, size=(64, 80), points_per_pair=64,
                            radii=(1, 2), interval=3))
    assert isinstance(hook, ExactGTProbeHook)
    good = _runner(PatchModel().train(), tmp_path / 'good')
    hook.before_train(good)
    assert good.model.training and good.model.calls[0][0] is False
    rand = _runner(PatchModel(scramble=True), tmp_path / 'rand')
    hook2 = ExactGTProbeHook(pairs_per_kind=2, size=(64, 80), points_per_pair=64,
                             interval=0, before_train=False)
    hook2.before_train(rand)
    assert not rand.model.calls
    rand.iter = 4
    hook2.after_train(rand)
    (g, ), (r, ) = _scalars(tmp_path / 'good'), _scalars(tmp_path / 'rand')
    assert g['step'] == 0 and r['step'] == 4
    for k in ('rigid@1', 'nonrigid@1', 'all@1', 'rigid@2', 'nonrigid@2', 'all@2'):
        assert 0 <= g[f'exact_gt/{k}'] <= 1
    chance = g['exact_gt/chance@1']
    assert 0 < chance < 0.05 and chance == r['exact_gt/chance@1']
    # Local-patch features find many true matches; random features do not.
    assert g['exact_gt/all@1'] > 5 * chance
    assert r['exact_gt/all@1'] < chance + 0.03
    assert good.message_hub.get_scalar('exact_gt/all@2').current() == \
        g['exact_gt/all@2']
