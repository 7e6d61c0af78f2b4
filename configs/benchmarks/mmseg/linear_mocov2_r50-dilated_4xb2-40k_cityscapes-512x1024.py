# MoCo-v2 baseline (dilated R50), Cityscapes fine train -> val (mIoU, fIoU).
# The PiCo config with the frozen dilated MoCo-v2 R50 features instead.
_base_ = ['./linear_pico_r50_4xb2-40k_cityscapes-512x1024.py', './_base_/models/mocov2_r50_dilated.py']
model = dict(
    backbone={{_base_.mocov2_backbone}}, decode_head=dict(in_channels=2048))
