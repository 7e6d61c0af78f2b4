# Baseline: two frames of a video, identity correspondence (zero flow).
_base_ = './pico_r50-fpn_8xb32-coslr-100e_yt8m-s.py'
train_dataloader = dict(dataset=dict(frame_sampler='static_video'))
