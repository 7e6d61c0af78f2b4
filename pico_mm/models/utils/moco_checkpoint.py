"""Load MoCo-v2 weights (mmselfsup or original release) into an mmselfsup ResNet."""
import os
import warnings
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch
import torch.nn as nn

from pico_mm.utils.safe_load import load_checkpoint_file

#: Prefixes tried, in order, to find the query backbone in a checkpoint.
_PREFIXES = (
    'module.encoder_q.',  # original MoCo release (moco_v2_800ep_pretrain)
    'encoder_q.',  # MoCo release saved without DataParallel
    'module.backbone.',  # mmselfsup checkpoint saved from a wrapper
    'backbone.',  # mmselfsup full checkpoint
    'encoder_q.0.',  # mmselfsup 0.x MoCo
)
#: Heads of torchvision-style checkpoints that a backbone never has.
_DROPPED = ('fc.', )


def _read(path: str, trust: Optional[bool] = None) -> Mapping:
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'MoCo checkpoint {path!r} does not exist: set '
            'model.backbone_checkpoint to an existing .pth/.pth.tar file')
    # weights_only + allow-list: a downloaded release cannot run code here
    # unless the user trusts it (tools/train.py --trust-checkpoint).
    return load_checkpoint_file(path, trust=trust, what='MoCo checkpoint')


def convert_moco_state_dict(ckpt: Mapping) -> Dict[str, torch.Tensor]:
    """Extract backbone weights with mmselfsup/mmcls ``ResNet`` key names.

    Accepted layouts: an mmselfsup checkpoint (``state_dict`` with
    ``backbone.*``), extracted backbone weights (``state_dict`` or a bare
    dict with ``conv1.weight``, ``layer1.0.conv1.weight``, ...), and the
    original MoCo release (``state_dict`` with ``module.encoder_q.*``).
    mmcls ResNet and torchvision ResNet share key names (``conv1``, ``bn1``,
    ``layerX.Y.convZ/bnZ``, ``downsample.0/1``), so only the prefix is
    stripped and the classifier/projection ``fc.*`` is dropped.

    Args:
        ckpt (Mapping): The loaded checkpoint object.

    Returns:
        dict[str, Tensor]: Backbone state dict.
    """
    state = ckpt
    for key in ('state_dict', 'model'):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping):
        raise ValueError('checkpoint holds no state dict')
    state = {k: v for k, v in state.items() if torch.is_tensor(v)}
    for prefix in _PREFIXES:
        if any(k.startswith(prefix) for k in state):
            state = {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }
            break
    return OrderedDict((k, v) for k, v in state.items()
                       if not k.startswith(_DROPPED))


def load_moco_backbone(backbone: nn.Module, path: str,
                       trust: Optional[bool] = None) -> Dict[str, int]:
    """Load a MoCo-v2 checkpoint into ``backbone`` strictly.

    Args:
        backbone (nn.Module): mmselfsup ``ResNet`` (any depth matching the
            checkpoint).
        path (str): Checkpoint path (mmselfsup, extracted or original MoCo).
        trust (bool, optional): Allow executing pickled objects the
            weights-only allow-list refuses; None = the process-wide
            ``--trust-checkpoint`` setting
            (:func:`pico_mm.utils.safe_load.trust_checkpoints`).

    Returns:
        dict: ``{'loaded': n}`` number of tensors loaded.

    Raises:
        UntrustedCheckpointError: The file needs code execution to load
            and is not trusted.
        KeyError: naming the backbone keys missing from the checkpoint, or
            checkpoint keys the backbone does not have.
        ValueError: naming keys whose shapes differ (wrong depth/width).
    """
    state = convert_moco_state_dict(_read(path, trust))
    own = backbone.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    # Older checkpoints may lack BN's num_batches_tracked; it is unused.
    missing_real = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing_real or unexpected:
        def _fmt(keys):
            more = f' (+{len(keys) - 8} more)' if len(keys) > 8 else ''
            return ', '.join(keys[:8]) + more
        raise KeyError(
            f'MoCo checkpoint {path!r} does not match the backbone: '
            f'{len(missing_real)} missing keys [{_fmt(missing_real)}], '
            f'{len(unexpected)} unexpected keys [{_fmt(unexpected)}]; '
            'check backbone.depth and that the file is a MoCo-v2 ResNet '
            'checkpoint (mmselfsup or module.encoder_q.* format)')
    bad = [
        f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
        for k, v in own.items() if k in state and state[k].shape != v.shape
    ]
    if bad:
        raise ValueError(f'MoCo checkpoint {path!r} has wrong shapes for '
                         f'{len(bad)} keys: {"; ".join(bad[:5])}; check '
                         'backbone.depth/widths')
    if missing:
        warnings.warn(f'{len(missing)} num_batches_tracked buffers not in '
                      f'{path!r}; kept as is')
    backbone.load_state_dict(state, strict=False)
    return {'loaded': len(state)}
