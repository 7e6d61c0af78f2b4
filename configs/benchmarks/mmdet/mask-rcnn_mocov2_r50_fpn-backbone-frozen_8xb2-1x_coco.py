# MoCo-v2 baseline for the frozen Mask R-CNN benchmark: the PiCo config with the
# ResNet-50 frozen exactly like PiCo's; MoCo-v2 has no pretrained FPN, so its FPN
# is trained (with the RPN and RoI heads) instead of being frozen at random.
# Weights: tools/model_converters/pico2mm.py MOCO OUT --target mmdet, then
#   --cfg-options model.frozen_checkpoint=OUT   (backbone.* only, strict)
_base_ = './mask-rcnn_pico_r50_fpn-frozen_8xb2-1x_coco.py'
model = dict(
    frozen_checkpoint='work_dirs/export/mocov2_r50_mmdet.pth',
    frozen_parts=('backbone', ),
    neck=dict(type='FPN'))
