# MoCo-v2 optimiser from mmselfsup (SGD lr 0.03 for batch 256, momentum 0.9,
# wd 1e-4, cosine), run for 100 epochs of the video list (one frame pair per
# video per epoch).
_base_ = 'mmselfsup::selfsup/_base_/schedules/sgd_coslr-200e_in1k.py'

max_epochs = 100
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# lr 0.03 is for 8 GPUs x 32; with another total batch set
# --cfg-options auto_scale_lr.enable=True to scale it linearly.
auto_scale_lr = dict(base_batch_size=256, enable=False)
