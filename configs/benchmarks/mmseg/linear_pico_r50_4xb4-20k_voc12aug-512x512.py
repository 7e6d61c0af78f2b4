# PiCo linear probe, Pascal VOC 2012 train_aug -> val (mIoU).
_base_ = [
    './_base_/models/linear_pico_r50.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
custom_imports = dict(imports=['pico_mm.seg'], allow_failed_imports=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=21))
val_evaluator = dict(type='FIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# The lr is set for 4 GPUs x 4 images (the name's 4xb4); tools/train.py
# --auto-scale-lr rescales it for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
