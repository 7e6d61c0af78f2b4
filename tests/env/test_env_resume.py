"""Resume under torch >= 2.6: mmengine 0.10.7 checkpoints load after `import pico_mm`."""
import copy

import pytest
import torch
import torch.nn as nn

import pico_mm  # noqa: F401  (applies the checkpoint compat fix)
from mmengine.model import BaseModel
from mmengine.runner import Runner


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 1)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.lin(self.bn(inputs))
        if mode == 'loss':
            return {'loss': ((y - 1.0) ** 2).mean()}
        return y


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(4, generator=g))


def _runner(work_dir, max_iters, resume=False, load_from=None):
    torch.manual_seed(0)
    return Runner(
        model=_TinyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Data(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        resume=resume, load_from=load_from, default_scope='mmengine',
        randomness=dict(seed=0))


def _state(runner):
    model = copy.deepcopy(runner.model.state_dict())
    opt = runner.optim_wrapper.optimizer.state_dict()
    mom = [v['momentum_buffer'].clone() for v in opt['state'].values()]
    return model, mom


def test_resume_reaches_iter4_with_same_optimizer_state(tmp_path):
    # Reference: 4 iterations straight.
    ref = _runner(tmp_path / 'ref', 4)
    ref.train()
    ref_model, ref_mom = _state(ref)

    # 2 iterations, then a new Runner resumes from the work dir.
    first = _runner(tmp_path / 'run', 2)
    first.train()
    _, mom_at_2 = _state(first)
    assert (tmp_path / 'run' / 'iter_2.pth').exists()

    resumed = _runner(tmp_path / 'run', 4, resume=True)
    resumed.load_or_resume()  # the same call Runner.train() makes
    assert resumed.iter == 2
    _, mom_loaded = _state(resumed)
    for a, b in zip(mom_at_2, mom_loaded):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # message hub (HistoryBuffer objects) came back too
    assert len(resumed.message_hub.get_scalar('train/loss').data[0]) > 0

    resumed.train()
    assert resumed.iter == 4
    model4, mom4 = _state(resumed)
    for k in ref_model:
        torch.testing.assert_close(model4[k], ref_model[k])
    for a, b in zip(mom4, ref_mom):
        torch.testing.assert_close(a, b)


def test_explicit_checkpoint_path_and_load_from(tmp_path):
    first = _runner(tmp_path / 'a', 2)
    first.train()
    ckpt = tmp_path / 'a' / 'iter_2.pth'
    # resume from an explicit path (tools/train.py --resume PATH)
    r = _runner(tmp_path / 'b', 4, resume=True, load_from=str(ckpt))
    r.train()
    assert r.iter == 4
    # load_from without resume: weights only
    w = _runner(tmp_path / 'c', 1, load_from=str(ckpt))
    w.load_or_resume()
    torch.testing.assert_close(w.model.lin.weight, first.model.lin.weight)


def test_unrelated_getattr_is_still_refused(tmp_path):
    """The allow-list is narrow: getattr works only for HistoryBuffer stats."""
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer

    class Evil:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'evil.pth'
    torch.save({'x': Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
