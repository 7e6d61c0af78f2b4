# Runtime for PiCo pre-training: mmselfsup's runtime + pico_mm registration
# + tensorboard logging.
_base_ = 'mmselfsup::selfsup/_base_/default_runtime.py'

custom_imports = dict(imports=['pico_mm'], allow_failed_imports=False)
default_scope = 'mmselfsup'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
visualizer = dict(
    type='SelfSupVisualizer', vis_backends=vis_backends, name='visualizer')
