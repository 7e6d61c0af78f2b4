_base_ = '../pico_r50-fpn_8xb32-coslr-100e_k400.py'
train_dataloader = dict(dataset=dict(k=1))  # top-K sweep (base: 4)
