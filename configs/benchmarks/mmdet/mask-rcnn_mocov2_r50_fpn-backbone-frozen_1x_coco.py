# MoCo-v2 baseline for the frozen Mask R-CNN benchmark: the ResNet-50 is
# frozen exactly like PiCo's; MoCo-v2 has no pretrained FPN, so its FPN is
# trained (with the RPN and RoI heads) instead of being frozen at random.
# Weights: tools/model_converters/pico2mm.py MOCO OUT --target mmdet, then
#   --cfg-options load_from=OUT   (backbone.* only)
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['pico_mm.det'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        frozen_stages=4,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=None))
load_from = 'work_dirs/export/mocov2_r50_mmdet.pth'
