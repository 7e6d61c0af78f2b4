# PiCo linear depth probe, NYU-depth v2 (RMSE first).
# DepthEstimator + NYUDataset (mmseg), linear depth head (1x1 conv, linear
# output, masked L1 loss), fixed resize and flips only (appendix A.2.4),
# seg_pad_val=0 so padding is invalid depth.
_base_ = [
    './_base_/models/linear_pico_r50.py',
    'mmseg::_base_/datasets/nyu.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_25k.py',
]
custom_imports = dict(imports=['pico_mm.seg'], allow_failed_imports=False)
img_scale = (640, 480)  # NYU frames are 640x480: the fixed resize keeps them
model = dict(
    type='DepthEstimator',
    data_preprocessor=dict(seg_pad_val=0, size_divisor=32),
    decode_head=dict(_delete_=True, type='LinearDepthHead', in_channels=128))
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'category_id')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(save_best='rmse', rule='less'))
# The lr is set for 4 GPUs x 8 images (the name's 4xb8); tools/train.py
# --auto-scale-lr rescales it for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=32)
