# Baseline: one frame twice, identity correspondence (VADeR-style image views).
_base_ = './pico_r50-fpn_8xb32-coslr-100e_yt8m-s.py'
train_dataloader = dict(dataset=dict(frame_sampler='static_frame'))
