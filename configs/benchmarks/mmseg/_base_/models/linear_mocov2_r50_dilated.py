# Linear probe on a frozen MoCo-v2 ResNet-50 whose strides are replaced by
# dilations (output stride 4, PiCo appendix A.2.1): C5 is N x 2048 x H/4 x W/4.
# Checkpoint: tools/model_converters/pico2mm.py MOCO OUT --target mmseg, then
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
    pretrained=None,
    backbone=dict(
        type='FrozenDenseEncoder',
        backbone=dict(
            type='ResNet',
            depth=50,
            strides=(1, 1, 1, 1),
            dilations=(1, 2, 4, 8),
            contract_dilation=True,  # first block of a stage: dilation / 2
            out_indices=(3, ),
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            frozen_stages=4,
            style='pytorch'),
        neck=None,
        checkpoint='work_dirs/export/mocov2_r50_mmseg.pth'),
    decode_head=dict(
        type='LinearProbeHead',
        in_channels=2048,
        num_classes=54,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
