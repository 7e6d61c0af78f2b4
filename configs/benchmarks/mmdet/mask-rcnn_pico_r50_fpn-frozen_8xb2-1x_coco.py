# Mask R-CNN R50-FPN 1x on COCO with PiCo's backbone AND FPN frozen (no
# gradients, eval-mode BN kept across model.train()); only the RPN and RoI
# heads are trained (appendix A.2.2).
# Weights: tools/model_converters/pico2mm.py CKPT OUT --target mmdet, then
#   --cfg-options load_from=OUT   (backbone.* + neck.lateral_convs/fpn_convs)
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['pico_mm.det'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        frozen_stages=4,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=None),  # no torchvision download; weights come from load_from
    neck=dict(type='FrozenFPN'))
load_from = 'work_dirs/export/pico_r50_mmdet.pth'
