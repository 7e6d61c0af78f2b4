_base_ = '../pico_r50-fpn_8xb32-coslr-100e_k400.py'
train_dataloader = dict(dataset=dict(beta=1.0))  # beta sweep (base: 0.5)
