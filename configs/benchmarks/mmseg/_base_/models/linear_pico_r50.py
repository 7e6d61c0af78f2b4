# Linear probe on PiCo's frozen 128-d stride-4 embedding (R50 + FPN + decoder).
# Checkpoint: tools/model_converters/pico2mm.py CKPT OUT --target mmseg, then
#   --cfg-options model.backbone.checkpoint=OUT
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,  # mmseg bases set one; it would clash with our weights
    backbone=dict(
        type='FrozenDenseEncoder',
        backbone=dict(
            type='ResNet',
            depth=50,
            out_indices=(0, 1, 2, 3),
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            frozen_stages=4,
            style='pytorch'),
        neck=dict(
            in_channels=[256, 512, 1024, 2048],
            fpn_channels=256,
            decoder_channels=128,
            out_channels=128,
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
        checkpoint='work_dirs/export/pico_r50_mmseg.pth'),
    decode_head=dict(
        type='LinearProbeHead',
        in_channels=128,
        num_classes=54,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
