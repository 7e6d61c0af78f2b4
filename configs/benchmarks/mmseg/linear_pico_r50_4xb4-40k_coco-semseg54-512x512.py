# PiCo linear probe, COCO semantic segmentation from panoptic (54 classes):
# mIoU + fIoU.
_base_ = [
    './_base_/models/linear_pico_r50.py',
    './_base_/datasets/coco_panoptic_semseg54.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['pico_mm.seg'], allow_failed_imports=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=54))
val_evaluator = dict(type='FIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# The lr is set for 4 GPUs x 4 images (the name's 4xb4); tools/train.py
# --auto-scale-lr rescales it for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
