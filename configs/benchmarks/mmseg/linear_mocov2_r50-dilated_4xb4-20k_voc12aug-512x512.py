# MoCo-v2 baseline (dilated R50), Pascal VOC 2012 train_aug -> val (mIoU, fIoU).
# The PiCo config with the frozen dilated MoCo-v2 R50 features instead.
_base_ = ['./linear_pico_r50_4xb4-20k_voc12aug-512x512.py', './_base_/models/mocov2_r50_dilated.py']
model = dict(
    backbone={{_base_.mocov2_backbone}}, decode_head=dict(in_channels=2048))
