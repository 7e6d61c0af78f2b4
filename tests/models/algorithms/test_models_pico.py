"""PiCo algorithm on CPU with a tiny ResNet-18 (64 px, queue 256)."""
import copy

import pytest
import torch
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample
from pico_mm.models.utils import collect_points
from pico_tiny_model import DIM, P, SIZE
from pico_tiny_model import build_tiny as _build
from pico_tiny_model import sgd as _optim
from pico_tiny_model import tiny_batch as _batch
from pico_tiny_model import tiny_cfg as _cfg


@pytest.mark.parametrize('head_on_points', [True, False])
def test_loss_finite_and_logged_values(head_on_points):
    model = _build(head_on_points=head_on_points)
    model.train()
    optim = _optim(model)
    log = model.train_step(_batch(), optim)
    assert set(log) >= {'loss', 'num_pairs', 'queue_fill'}
    assert torch.isfinite(log['loss']) and log['loss'] > 0
    assert log['num_pairs'].item() == 33  # 20 + 13 valid, <= max_pairs
    assert log['queue_fill'].item() == 33
    assert int(model.queue.ptr) == 33
    log = model.train_step(_batch(seed=1, num_valid=(24, 24)), optim)
    assert log['num_pairs'].item() == 40  # capped at max_pairs
    assert log['queue_fill'].item() == 73


def test_logs_pairs_per_sample_gap_and_empty_samples():
    """Every sampler's run logs what its samples gave the loss."""
    model = _build()
    model.train()
    batch = _batch(n=3, num_valid=(20, 0, 7),
                   frame_inds=[(3, 10), (5, 5), (8, 2)])
    data = model.data_preprocessor(batch, True)
    log = model(*data, mode='loss')
    assert log['pairs_per_sample'].item() == pytest.approx(9.0)
    assert log['no_pair_frac'].item() == pytest.approx(1 / 3)
    assert log['frame_gap'].item() == pytest.approx((7 + 0 + 6) / 3)
    assert log['num_pairs'].item() == 27


def test_loss_normalised_by_global_pair_count(monkeypatch):
    """Under DDP the loss divides by the mean pair count per process (all
    ranks' pairs weigh the same), not by this process's own count."""
    from pico_mm.models.algorithms import pico as pico_module
    seen = []

    def fake_global(count, device):
        seen.append(count)
        return 2.0 * count  # other processes had 3x as many pairs

    model = _build()
    model.train()
    data = model.data_preprocessor(_batch(), True)
    torch.manual_seed(5)
    ref = model(*copy.deepcopy(data), mode='loss')['loss']
    model = _build()
    model.train()
    monkeypatch.setattr(pico_module, 'global_mean_count', fake_global)
    torch.manual_seed(5)
    got = model(*copy.deepcopy(data), mode='loss')['loss']
    assert seen == [33]
    assert got.item() == pytest.approx(ref.item() / 2, rel=1e-5)


def test_no_valid_pairs_gives_zero_loss_with_grads():
    model = _build()
    model.train()
    data = model.data_preprocessor(_batch(num_valid=(0, 0)), True)
    losses = model(*data, mode='loss')
    assert losses['loss'].item() == 0 and losses['num_pairs'].item() == 0
    losses['loss'].backward()
    assert all(p.grad is not None for p in model.neck.parameters())


def test_frozen_backbone_no_grad_and_bn_stats_fixed():
    model = _build()
    model.train()
    assert not model.backbone.training  # eval mode kept across train()
    before = copy.deepcopy(model.backbone.state_dict())
    neck_before = copy.deepcopy(model.neck.state_dict())
    optim = _optim(model)
    for seed in range(3):
        model.train_step(_batch(seed=seed), optim)
    data = model.data_preprocessor(_batch(seed=5), True)
    model(*data, mode='loss')['loss'].backward()
    assert all(not p.requires_grad and p.grad is None
               for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.neck.parameters())
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k  # incl. BN running stats
    changed = [k for k, v in model.neck.state_dict().items()
               if not torch.equal(v, neck_before[k])]
    assert changed
    # A frozen backbone is shared: the key encoder holds no copy of it.
    assert not any(k.startswith('encoder_k.module.backbone')
                   for k in model.state_dict())


def test_unfrozen_backbone_trains_and_is_averaged():
    model = _build(freeze_backbone=False)
    model.train()
    assert model.backbone.training
    before = copy.deepcopy(model.backbone.state_dict())
    data = model.data_preprocessor(_batch(seed=5), True)
    model(*data, mode='loss')['loss'].backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
    model.train_step(_batch(), _optim(model))
    assert any(not torch.equal(v, before[k])
               for k, v in model.backbone.state_dict().items())
    assert any(k.startswith('encoder_k.module.backbone.')
               for k in model.state_dict())


def test_ema_update_matches_hand_computation():
    model = _build()
    model.train()
    optim = _optim(model)
    model.train_step(_batch(), optim)  # step 0 copies, then SGD moves q
    k0 = {k: v.clone() for k, v in
          model.encoder_k.module.named_parameters()}
    q1 = {'neck.' + k: v.detach().clone()
          for k, v in model.neck.named_parameters()}
    q1.update({'head.' + k: v.detach().clone()
               for k, v in model.head.named_parameters()})
    assert set(k0) == set(q1)
    assert any(not torch.equal(k0[k], q1[k]) for k in k0)
    model.train_step(_batch(seed=1), optim)
    for k, v in model.encoder_k.module.named_parameters():
        expect = 0.999 * k0[k] + 0.001 * q1[k]
        assert torch.allclose(v, expect, atol=1e-6), k
        assert not v.requires_grad


def test_tensor_and_predict_modes_give_stride4_embedding():
    model = _build()
    model.eval()
    data = model.data_preprocessor(_batch(), False)
    with torch.no_grad():
        emb = model(data[0], mode='tensor')
        assert emb.shape == (2, DIM, SIZE // 4, SIZE // 4)
        assert torch.equal(emb, model.extract_feat(data[0][0]))
        out = model(data[0], data[1], mode='predict')
    value = out[0].dense_emb.value
    assert value.shape == (DIM, SIZE // 4, SIZE // 4)
    assert torch.allclose(value.norm(dim=0), torch.ones(SIZE // 4, SIZE // 4),
                          atol=1e-5)


def test_state_dict_keys_and_resume_roundtrip():
    model = _build()
    model.train()
    model.train_step(_batch(), _optim(model))
    sd = model.state_dict()
    prefixes = {k.split('.')[0] for k in sd}
    assert prefixes - {'data_preprocessor'} == {
        'backbone', 'neck', 'head', 'encoder_k', 'queue'}
    assert {'queue.buffer', 'queue.ptr', 'queue.fill',
            'encoder_k.steps'} <= set(sd)
    other = _build()
    other.load_state_dict(sd, strict=True)
    assert int(other.encoder_k.steps) == 1 and int(other.queue.fill) == 33
    assert torch.equal(other.queue.buffer, model.queue.buffer)


def test_backbone_checkpoint_loaded_by_init_weights(tmp_path):
    src = MODELS.build(_cfg()['backbone'])
    for p in src.parameters():
        torch.nn.init.normal_(p)
    ckpt = tmp_path / 'moco.pth.tar'
    torch.save({'state_dict': {'module.encoder_q.' + k: v
                               for k, v in src.state_dict().items()}}, ckpt)
    model = _build(backbone_checkpoint=str(ckpt))
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, src.state_dict()[k]), k
    with pytest.raises(FileNotFoundError):
        _build(backbone_checkpoint=str(tmp_path / 'missing.pth'))


def test_missing_point_fields_raise_clear_error():
    model = _build()
    model.train()
    data = _batch()
    data['data_samples'] = [SelfSupDataSample() for _ in range(2)]
    data = model.data_preprocessor(data, True)
    with pytest.raises(KeyError, match='points_q'):
        model(*data, mode='loss')


@pytest.mark.parametrize('head_on_points', [True, False])
def test_ddp_key_shuffle_keeps_point_correspondence(monkeypatch,
                                                    head_on_points):
    """With the key shuffle on, keys still belong to their points (one
    process: the shuffle permutes the local batch)."""
    from pico_mm.models.algorithms import pico as pico_module
    model = _build(head_on_points=head_on_points, shuffle_keys=True)
    model.train()
    data = model.data_preprocessor(_batch(n=4, num_valid=(5, 9, 2, 7)), True)
    _, points_k, valid = collect_points(data[1], data[0][1].device)
    chosen = valid.flatten().nonzero().squeeze(1)
    model.encoder_k.update_parameters(model._query_modules())
    with torch.no_grad():
        plain = model._key_embeddings(data[0][1], points_k, valid, chosen)
        torch.manual_seed(3)  # a non-identity permutation
        monkeypatch.setattr(pico_module, 'get_world_size', lambda: 2)
        assert model._shuffle()
        shuffled = model._key_embeddings(data[0][1], points_k, valid, chosen)
    assert shuffled.shape == plain.shape == (23, DIM)
    assert plain.abs().sum() > 0
    assert torch.allclose(shuffled, plain, atol=1e-5)


def test_shuffle_rule_follows_batchnorm_in_the_key_path(monkeypatch):
    """Auto: shuffle only with BN in training mode in the key path."""
    from pico_mm.models.algorithms import pico as pico_module
    monkeypatch.setattr(pico_module, 'get_world_size', lambda: 2)
    model = _build()
    model.train()
    assert not model._shuffle()  # frozen BN backbone, GN neck, plain head
    assert not _build(shuffle_keys=False,
                      freeze_backbone=False).train()._shuffle()
    assert _build(shuffle_keys=True).train()._shuffle()
    assert _build(freeze_backbone=False).train()._shuffle()  # BN backbone
    bn_head = _build(head=dict(type='DenseProjectionHead', in_channels=DIM,
                               hid_channels=64, out_channels=DIM,
                               norm_cfg=dict(type='BN')))
    assert bn_head.train()._shuffle()
    assert not bn_head.eval()._shuffle()
    monkeypatch.setattr(pico_module, 'get_world_size', lambda: 1)
    assert not bn_head.train()._shuffle()  # nothing to shuffle with


def test_syncbn_head_on_points_is_refused():
    with pytest.raises(ValueError, match='SyncBN in the head'):
        _build(head=dict(type='DenseProjectionHead', in_channels=DIM,
                         hid_channels=64, out_channels=DIM,
                         norm_cfg=dict(type='SyncBN')))


def test_enqueue_per_iter_limits_enqueued_keys():
    model = _build(enqueue_per_iter=10)
    model.train()
    log = model.train_step(_batch(), _optim(model))
    assert log['num_pairs'].item() == 33
    assert log['queue_fill'].item() == 10 and int(model.queue.ptr) == 10
