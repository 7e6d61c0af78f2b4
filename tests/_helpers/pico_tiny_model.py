"""A tiny PiCo on CPU (ResNet-18, 16-channel stem, 64 px, queue 256) and
collated batches with chosen numbers of valid points (not a test)."""
import torch
from mmengine.optim import OptimWrapper
from mmselfsup.registry import MODELS
from mmselfsup.structures import SelfSupDataSample

import pico_mm.models  # noqa: F401  (registers PiCo parts)

SIZE, P, QLEN, DIM = 64, 24, 256, 16


def tiny_cfg(**kw):
    """PiCo config dict with ``kw`` overriding top-level fields."""
    cfg = dict(
        type='PiCo',
        backbone=dict(type='mmselfsup.ResNet', depth=18, stem_channels=16,
                      base_channels=16, out_indices=(1, 2, 3, 4)),
        neck=dict(type='PiCoFPNNeck', in_channels=(16, 32, 64, 128),
                  fpn_channels=32, decoder_channels=16, out_channels=DIM,
                  norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
        head=dict(type='DenseProjectionHead', in_channels=DIM,
                  hid_channels=64, out_channels=DIM),
        loss=dict(type='PixelInfoNCELoss', temperature=0.2, chunk_size=16),
        queue_len=QLEN, feat_dim=DIM, momentum=0.999, max_pairs=40)
    cfg.update(kw)
    return cfg


def build_tiny(**kw):
    """Built and initialised tiny PiCo (seed 0, one thread)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MODELS.build(tiny_cfg(**kw))
    model.init_weights()
    return model


def tiny_batch(n=2, seed=0, num_valid=(20, 13), frame_inds=None):
    """A collated batch as PackPiCoInputs + default_collate produce it."""
    g = torch.Generator().manual_seed(seed)
    views = [torch.randint(0, 256, (n, 3, SIZE, SIZE), dtype=torch.uint8,
                           generator=g) for _ in range(2)]
    samples = []
    for i in range(n):
        pq = torch.rand(P, 2, generator=g) * (SIZE - 1)
        pk = (pq + torch.randn(P, 2, generator=g) * 3).clamp(0, SIZE - 1)
        valid = torch.zeros(P, dtype=torch.bool)
        valid[:num_valid[i]] = True
        pq[~valid] = 0
        pk[~valid] = 0
        s = SelfSupDataSample()
        s.set_field(pq, 'points_q')
        s.set_field(pk, 'points_k')
        s.set_field(valid, 'points_valid')
        if frame_inds is not None:
            s.set_metainfo(dict(frame_inds=frame_inds[i]))
        samples.append(s)
    return dict(inputs=views, data_samples=samples)


def sgd(model):
    """Plain OptimWrapper (SGD) over the trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.SGD(params, lr=0.1, momentum=0.9))
