# PiCo on Kinetics-400: top-K anchor sampling of tracked point pairs.
_base_ = [
    '_base_/models/pico_r50-fpn.py',
    '_base_/datasets/k400_pico.py',
    '_base_/schedules/sgd_coslr-100e.py',
    '_base_/default_runtime.py',
]
