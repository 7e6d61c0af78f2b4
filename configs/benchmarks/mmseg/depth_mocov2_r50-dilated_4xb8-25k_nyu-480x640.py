# MoCo-v2 baseline (dilated R50) linear depth probe, NYU-depth v2 (RMSE first).
# The PiCo config with the frozen dilated MoCo-v2 R50 features instead.
_base_ = ['./depth_pico_r50_4xb8-25k_nyu-480x640.py', './_base_/models/mocov2_r50_dilated.py']
model = dict(
    backbone={{_base_.mocov2_backbone}}, decode_head=dict(in_channels=2048))
