"""Exploration around issue 19's experiment (not registered; docs/demo.md).

Used after the registered runs to measure *why* a result came out as it did:
:func:`trajectory` scores every kept checkpoint of a run (``prereg_experiment.py
run --keep-every N``) on the primary metric, and :func:`encoder_only` scores the
frozen encoder's own stride-4 features, without decoder or head. Nothing here
enters the registered decision.
"""
import os.path as osp
from typing import Dict

from . import stages as st
from .prereg import ARM_ORDER, load_data_info, load_encoder, load_runs, score

__all__ = ['trajectory', 'encoder_only']


def trajectory(ws: str, tag: str, split: str = 'val') -> Dict[str, Dict[int, list]]:
    """Exploration: video PCK@1 of every kept checkpoint of every arm and seed.

    Returns:
        dict: ``{arm: {iteration: [acc per seed]}}`` (iteration 0 = init).
    """
    import glob
    import re
    info = load_data_info(ws)
    out: Dict[str, Dict[int, list]] = {}
    model = None
    for run in load_runs(ws, tag):
        seed_dir = osp.join(ws, 'runs', tag, f'seed_{run["seed"]}')
        if model is None:
            model = st.build_model(osp.join(seed_dir, 'configs', 'init.py'))
        for arm in ARM_ORDER[1:]:
            ck = {0: osp.join(seed_dir, 'init.pth')}
            arm_dir = osp.dirname(run['checkpoints'][arm])
            for path in glob.glob(osp.join(arm_dir, 'iter_*.pth')):
                ck[int(re.findall(r'iter_(\d+)', path)[-1])] = path
            for it, path in sorted(ck.items()):
                acc = score(model, path, info['render_eval'], split,
                            False)['video_pck']['acc']
                out.setdefault(arm, {}).setdefault(it, []).append(acc)
    return out


def encoder_only(ws: str, encoder: str, split: str = 'val') -> dict:
    """Exploration: video PCK@1 of the frozen encoder's own stride-4 features.

    The ResNet's first residual stage (C2, stride 4, 64 channels): the grid the
    embedding uses, without decoder or head.
    """
    import torch
    from mmselfsup.models.backbones import ResNet

    from pico_mm.demo.encoders import MEAN, STD
    from pico_mm.evaluation.video_pck import video_pck
    from pico_mm.models.utils.moco_checkpoint import load_moco_backbone
    info = load_data_info(ws)
    enc = load_encoder(ws, encoder)
    net = ResNet(depth=18, out_indices=(1, ))  # layer1 (0 is the stem)
    load_moco_backbone(net, enc['path'])
    net.eval()
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)

    @torch.no_grad()
    def embed(batch):
        x = (batch.flip(1).float() - mean) / std  # BGR uint8 -> normalised RGB
        return net(x)[0]

    return video_pck(embed, info['render_eval'], split)
