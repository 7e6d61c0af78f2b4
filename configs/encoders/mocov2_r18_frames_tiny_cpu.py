# E1 of issue 19: an image-level MoCo-v2 ResNet-18 trained with mmselfsup's own
# MoCo algorithm (MoCo-v2 neck and augmentations) on single frames of the
# training videos; no correspondence, no compared arm's loss. Its backbone is
# then frozen for every arm (model.backbone_checkpoint=<this run's checkpoint>).
# Data: a folder of frames, one sub-folder per video (mmcls CustomDataset
# without an annotation file), written by `tools/analysis/make_encoder.py`.
#   python tools/analysis/make_encoder.py mocov2 --videos VIDEO_DIR --work-dir W
_base_ = [
    'mmselfsup::selfsup/_base_/models/mocov2.py',
    '../pico/_base_/default_runtime.py',
]

img_size = 64
model = dict(
    queue_len=1024,
    momentum=0.99,  # short CPU runs: a faster key EMA
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512, out_channels=128))

view_pipeline = [
    dict(type='RandomResizedCrop', size=img_size, scale=(0.2, 1.),
         backend='pillow'),
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
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='mmcls.CustomDataset',
        data_root='data/encoder_frames/',
        data_prefix='',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
            dict(type='PackSelfSupInputs', meta_keys=['img_path'])
        ]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False))
log_processor = dict(by_epoch=False, window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
