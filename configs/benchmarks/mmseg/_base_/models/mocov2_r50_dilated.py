# Frozen MoCo-v2 ResNet-50 whose strides are replaced by dilations (output
# stride 4, PiCo appendix A.2.1): C5 is N x 2048 x H/4 x W/4, no neck.
# The MoCo-v2 baseline configs take the matching PiCo config and swap its
# features for these:  model = dict(backbone={{_base_.mocov2_backbone}},
# decode_head=dict(in_channels=2048)).
# Checkpoint: tools/model_converters/pico2mm.py MOCO OUT --target mmseg, then
#   --cfg-options model.backbone.checkpoint=OUT
mocov2_backbone = dict(
    backbone=dict(
        strides=(1, 1, 1, 1),
        dilations=(1, 2, 4, 8),
        contract_dilation=True,  # first block of a stage: dilation / 2
        out_indices=(3, )),
    neck=None,
    checkpoint='work_dirs/export/mocov2_r50_mmseg.pth')
