# Tiny CPU config for tests and the demo: ResNet-18 from scratch (trained,
# no MoCo checkpoint needed), 64 px views, queue 256, 20 iterations.
# Data: data/pico_tiny/{videos.txt, videos/, tracks/} (override data_root or
# the dataset fields with --cfg-options).
_base_ = [
    '_base_/models/pico_r50-fpn.py',
    '_base_/datasets/k400_pico.py',
    '_base_/default_runtime.py',
]

img_size = 64
num_points = 64
model = dict(
    queue_len=256,
    momentum=0.99,  # faster key EMA: a 20-iteration run must already learn
    max_pairs=256,
    freeze_backbone=False,
    backbone_checkpoint=None,
    backbone=dict(depth=18, norm_eval=False),
    neck=dict(
        in_channels=(64, 128, 256, 512),
        fpn_channels=64,
        decoder_channels=64,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    head=dict(hid_channels=256),
    loss=dict(chunk_size=128))

view_pipeline = [
    dict(type='PointRandomResizedCrop', size=img_size, scale=(0.2, 1.)),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomGaussianBlur', sigma_min=0.1, sigma_max=2.0, prob=0.5),
    dict(type='PointRandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root='data/pico_tiny/',
        ann_file='videos.txt',
        data_prefix=dict(video='videos', tracks='tracks'),
        k=4,
        pipeline=[
            dict(type='CorrespondenceViews', transforms=view_pipeline),
            dict(type='PackPiCoInputs', num_points=num_points),
        ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, weight_decay=1e-4, momentum=0.9))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=10, by_epoch=False))
log_processor = dict(by_epoch=False, window_size=1)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
