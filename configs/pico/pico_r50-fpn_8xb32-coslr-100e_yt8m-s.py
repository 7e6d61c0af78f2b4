# PiCo on YT8M-S (shot-split YouTube-8M snippets).
_base_ = [
    '_base_/models/pico_r50-fpn.py',
    '_base_/datasets/yt8m-s_pico.py',
    '_base_/schedules/sgd_coslr-100e.py',
    '_base_/default_runtime.py',
]
