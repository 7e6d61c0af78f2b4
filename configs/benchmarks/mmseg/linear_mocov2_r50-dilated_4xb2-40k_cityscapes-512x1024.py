# MoCo-v2 baseline (dilated R50), Cityscapes fine train -> val (mIoU).
_base_ = [
    './_base_/models/linear_mocov2_r50_dilated.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['pico_mm.seg'], allow_failed_imports=False)
crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=19))
val_evaluator = dict(type='FIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

