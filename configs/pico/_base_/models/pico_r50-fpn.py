# PiCo: frozen MoCo-v2 ResNet-50 -> FPN + semantic-FPN decoder (128-d,
# stride 4) -> dense projection head; pixel InfoNCE against a key queue.
model = dict(
    type='PiCo',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    max_pairs=4096,
    freeze_backbone=True,
    # MoCo-v2 800-epoch release (moco_v2_800ep_pretrain.pth.tar) or an
    # mmselfsup MoCo-v2 checkpoint; set with --cfg-options.
    backbone_checkpoint='checkpoints/moco_v2_800ep_pretrain.pth.tar',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # asynchronous host-to-GPU copies of the (pinned) batch
        non_blocking=True),
    # shuffle_keys=None: the key images are shuffled across GPUs only when
    # the key path has BatchNorm in training mode (none here: frozen
    # backbone in eval mode, GroupNorm neck, head without norm).
    # Mixed precision: tools/train.py --amp (float16, dynamic loss scale)
    # or --amp --amp-dtype bfloat16 (no loss scale; A100/H100).
    backbone=dict(
        type='ResNet',
        depth=50,
        in_channels=3,
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='BN'),
        norm_eval=True,
        zero_init_residual=False),
    neck=dict(
        type='PiCoFPNNeck',
        in_channels=(256, 512, 1024, 2048),
        fpn_channels=256,
        decoder_channels=128,
        out_channels=128,
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
    head=dict(
        type='DenseProjectionHead',
        in_channels=128,
        hid_channels=2048,
        out_channels=128),
    loss=dict(type='PixelInfoNCELoss', temperature=0.2, chunk_size=4096))
