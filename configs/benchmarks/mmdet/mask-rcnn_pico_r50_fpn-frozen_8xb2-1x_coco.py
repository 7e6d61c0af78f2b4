# Mask R-CNN R50-FPN 1x on COCO with PiCo's backbone AND FPN frozen (no
# gradients, eval-mode BN kept across model.train()); only the RPN and RoI
# heads are trained (appendix A.2.2). 8 GPUs x 2 images (mmdet's 1x schedule,
# lr 0.02 for a total batch of 16).
# Weights: tools/model_converters/pico2mm.py CKPT OUT --target mmdet, then
#   --cfg-options model.frozen_checkpoint=OUT   (backbone.* + neck.*: the
# FPN part of PiCo's neck). FrozenMaskRCNN loads them strictly when the model
# is initialised, so neither a wrong file nor a resume can leave them random.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['pico_mm.det'], allow_failed_imports=False)
model = dict(
    type='FrozenMaskRCNN',
    frozen_checkpoint='work_dirs/export/pico_r50_mmdet.pth',
    frozen_parts=('backbone', 'neck'),
    backbone=dict(
        frozen_stages=4,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=None),  # no torchvision download; see frozen_checkpoint
    neck=dict(type='FrozenFPN'))
load_from = None
auto_scale_lr = dict(enable=False, base_batch_size=16)  # 8 GPUs x 2 images
