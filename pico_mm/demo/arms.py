"""Training the compared arms (Static(Frame), Static(Video), PiCo) from one init.

Used by ``tools/demo.py`` and ``tools/analysis/compare_samplers.py``. Every arm is
a generated mmengine config that inherits the base training config and only sets
the data, the budget, the probe hook, ``load_from=<init>`` and the frame sampler;
each runs as ``tools/train.py CONFIG`` in a subprocess (exactly what a user runs).

The optional *frozen encoder* protocol (the paper's, in small): the backbone of a
given checkpoint is loaded into the initial network (``model.backbone_checkpoint``)
and kept frozen (``model.freeze_backbone=True``); each arm then trains only the
decoder (FPN neck) and projection head, from the same initial weights.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from . import stages as st

__all__ = ['ARMS', 'arm_slug', 'DataSpec', 'Budget', 'common_overrides',
           'make_init', 'train_arm', 'train_arms']

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN_TOOL = osp.join(ROOT, 'tools', 'train.py')
#: ``(display name, frame_sampler)`` of the trained arms, in table order.
ARMS: Tuple[Tuple[str, str], ...] = (('Static(Frame)', 'static_frame'),
                                     ('Static(Video)', 'static_video'),
                                     ('PiCo', 'anchor'))


def arm_slug(sampler: str) -> str:
    """Folder / file name of an arm (``anchor`` → ``pico``)."""
    return sampler.replace('anchor', 'pico')


@dataclass
class DataSpec:
    """Where the training data of the arms lives.

    Args:
        train_list (str): mmaction2 ``path label`` list of training videos.
        video_root (str): Folder the list's paths are relative to.
        track_dir (str): Folder of the training videos' track files.
        probe_tracks (list[str]): Held-out track files for the probe hook.
    """
    train_list: str
    video_root: str
    track_dir: str
    probe_tracks: List[str] = field(default_factory=list)


@dataclass
class Budget:
    """Training budget shared by all arms.

    Args:
        iters (int): Iterations per arm.
        batch (int): Batch size.
        k (int): Frames per anchor (PiCo's top-K).
        probe_every (int): Probe hook interval (0 = only at the end).
    """
    iters: int
    batch: int
    k: int = 4
    probe_every: int = 0


def common_overrides(data: DataSpec, budget: Budget, seed: int,
                     model: Optional[dict] = None,
                     extra_hooks: Sequence[dict] = ()) -> dict:
    """Config keys every arm shares (data, budget, logging, probe hook, seed)."""
    hooks = list(extra_hooks)
    if data.probe_tracks:
        hooks.insert(0, dict(type='CorrespondenceProbeHook',
                             tracks=list(data.probe_tracks),
                             interval=budget.probe_every,
                             source_root=data.video_root, pairs_per_video=4,
                             points_per_pair=256, seed=seed))
    over = dict(
        train_dataloader=dict(
            batch_size=budget.batch, num_workers=0, persistent_workers=False,
            dataset=dict(ann_file=data.train_list, data_root='',
                         data_prefix=dict(video=data.video_root,
                                          tracks=data.track_dir),
                         k=budget.k)),
        # No loop `type`: mmselfsup 1.0.0 declares its LOOPS registry at the
        # missing module mmselfsup.engine.runner, so LOOPS.build fails; without
        # a type, mmengine builds its IterBasedTrainLoop directly.
        train_cfg=dict(_delete_=True, by_epoch=False, max_iters=budget.iters),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=budget.iters,
                            by_epoch=False, max_keep_ckpts=1)),
        log_processor=dict(by_epoch=False, window_size=1),
        custom_hooks=hooks,
        randomness=dict(seed=seed),
    )
    if model:
        over['model'] = dict(model)
    return over


def make_init(cfg_path: str, base_config: str, common: dict, seed: int,
              out_path: str):
    """Build and save the initial network all arms start from.

    Returns:
        tuple: ``(init checkpoint path, model)``; the model (with the frozen
        encoder loaded when ``common['model']`` asks for it) is reused for probing.
    """
    from mmengine.logging import MMLogger
    from mmengine.runner import set_random_seed
    cfg = st.write_config(cfg_path, base_config, common)
    MMLogger.get_instance('pico_demo', log_level='WARNING')  # quiet init logs
    set_random_seed(seed)
    model = st.build_model(cfg)
    model.init_weights()
    return st.save_weights(model, out_path, seed=seed), model


def train_arm(name: str, sampler: str, run_dir: str, cfg_path: str,
              base_config: str, common: dict, init_ckpt: str,
              threads: int = 2) -> Tuple[str, float]:
    """Train one arm from ``init_ckpt``; returns ``(last checkpoint, seconds)``."""
    over = dict(common, work_dir=run_dir, load_from=init_ckpt)
    over['train_dataloader'] = dict(
        common['train_dataloader'],
        dataset=dict(common['train_dataloader']['dataset'],
                     frame_sampler=sampler))
    st.write_config(cfg_path, base_config, over)
    os.makedirs(run_dir, exist_ok=True)
    secs = st.run_tool(st.python_cmd(TRAIN_TOOL, cfg_path), f'train {name}',
                       log_path=osp.join(run_dir, 'train.log'),
                       train_progress=True,
                       env=dict(OMP_NUM_THREADS=str(threads)))
    return st.last_checkpoint(run_dir), secs


def train_arms(ws: str, base_config: str, common: dict, init_ckpt: str,
               arms: Sequence[Tuple[str, str]] = ARMS, threads: int = 2,
               report=print) -> Dict[str, dict]:
    """Train ``arms`` under ``ws/train/<slug>`` with configs in ``ws/configs``.

    Returns:
        dict: ``{name: dict(ckpt, work_dir, config, seconds)}`` in arm order.
    """
    out = {}
    for name, sampler in arms:
        slug = arm_slug(sampler)
        run_dir = osp.join(ws, 'train', slug)
        cfg = osp.join(ws, 'configs', f'{slug}.py')
        ckpt, secs = train_arm(name, sampler, run_dir, cfg, base_config, common,
                               init_ckpt, threads)
        out[name] = dict(ckpt=ckpt, work_dir=run_dir, config=cfg, seconds=secs)
        report(f'{name}: {common["train_cfg"]["max_iters"]} iterations in '
               f'{secs:.0f} s, checkpoint {ckpt}')
    return out
