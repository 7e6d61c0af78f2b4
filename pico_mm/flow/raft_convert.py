"""MMFlow RAFT checkpoint -> torchvision ``raft_large`` state dict (pure torch).

MMFlow's RAFT (``raft_8x2_100k_mixed_368x768``) and torchvision's
``raft_large`` are the same network: 169 state-dict entries (124 parameters +
45 BatchNorm buffers, 5,257,536 parameters) that map 1:1 with equal shapes.
Only names differ (table ``_RULES``), and the input convention: MMFlow feeds
**BGR** images scaled ``(x - 127.5) / 127.5``, torchvision RGB ``2 x/255 - 1``
(the same affine map). :func:`convert_mmflow_raft` therefore reverses the
input-channel axis of the first conv of both encoders, so the converted dict
is an ordinary torchvision RGB checkpoint and runs through the same code path
as torchvision's own RAFT weights.
"""
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch

# (pattern on the MMFlow key, replacement) — applied in order, first match wins.
_ENC = r'(encoder|context)'
_RULES: List[Tuple[str, str]] = [
    (rf'^{_ENC}\.conv1\.(weight|bias)$', r'\1.convnormrelu.0.\2'),
    (rf'^{_ENC}\.bn1\.(.+)$', r'\1.convnormrelu.1.\2'),
    (rf'^{_ENC}\.conv2\.(weight|bias)$', r'\1.conv.\2'),
    (rf'^{_ENC}\.res_layer(\d)\.(\d)\.conv([12])\.(.+)$',
     r'\1.layer\2.\3.convnormrelu\4.0.\5'),
    (rf'^{_ENC}\.res_layer(\d)\.(\d)\.bn([12])\.(.+)$',
     r'\1.layer\2.\3.convnormrelu\4.1.\5'),
    (rf'^{_ENC}\.res_layer(\d)\.(\d)\.downsample\.([01])\.(.+)$',
     r'\1.layer\2.\3.downsample.\4.\5'),
    (r'^decoder\.encoder\.corr_net\.0\.conv\.(.+)$',
     r'update_block.motion_encoder.convcorr1.0.\1'),
    (r'^decoder\.encoder\.corr_net\.1\.conv\.(.+)$',
     r'update_block.motion_encoder.convcorr2.0.\1'),
    (r'^decoder\.encoder\.flow_net\.0\.conv\.(.+)$',
     r'update_block.motion_encoder.convflow1.0.\1'),
    (r'^decoder\.encoder\.flow_net\.1\.conv\.(.+)$',
     r'update_block.motion_encoder.convflow2.0.\1'),
    (r'^decoder\.encoder\.out_net\.0\.conv\.(.+)$',
     r'update_block.motion_encoder.conv.0.\1'),
    (r'^decoder\.gru\.conv_([zrq])\.0\.conv\.(.+)$',
     r'update_block.recurrent_block.convgru1.conv\1.\2'),
    (r'^decoder\.gru\.conv_([zrq])\.1\.conv\.(.+)$',
     r'update_block.recurrent_block.convgru2.conv\1.\2'),
    (r'^decoder\.flow_pred\.layers\.0\.conv\.(.+)$', r'update_block.flow_head.conv1.\1'),
    (r'^decoder\.flow_pred\.predict_layer\.(.+)$', r'update_block.flow_head.conv2.\1'),
    (r'^decoder\.mask_pred\.layers\.0\.conv\.(.+)$', r'mask_predictor.convrelu.0.\1'),
    (r'^decoder\.mask_pred\.predict_layer\.(.+)$', r'mask_predictor.conv.\1'),
]
_PREFIX = {'encoder.': 'feature_encoder.', 'context.': 'context_encoder.'}
# First convs that see the image: their input channels are flipped BGR -> RGB.
FIRST_CONVS = ('feature_encoder.convnormrelu.0.weight',
               'context_encoder.convnormrelu.0.weight')


def unwrap_state_dict(ckpt) -> Dict[str, torch.Tensor]:
    """Return the tensor dict of a checkpoint (``state_dict``/``model`` key or plain)."""
    if isinstance(ckpt, Mapping):
        for key in ('state_dict', 'model'):
            if key in ckpt and isinstance(ckpt[key], Mapping):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in ckpt.values()):
        raise ValueError('checkpoint is not a state dict of tensors')
    return {(k[7:] if k.startswith('module.') else k): v for k, v in ckpt.items()}


def detect_format(sd: Mapping[str, torch.Tensor]) -> str:
    """``'mmflow'``, ``'torchvision'`` or ``'unknown'`` from the key names."""
    keys = list(sd)
    if any(k.startswith('feature_encoder.') for k in keys) and any(
            k.startswith('update_block.') for k in keys):
        return 'torchvision'
    if any(k.startswith('encoder.') for k in keys) and any(
            k.startswith('decoder.') for k in keys) and any(
            k.startswith('context.') for k in keys):
        return 'mmflow'
    return 'unknown'


def map_key(key: str) -> str:
    """torchvision name of an MMFlow RAFT key.

    Raises:
        KeyError: No rule maps ``key``.
    """
    for pat, rep in _RULES:
        if re.match(pat, key):
            out = re.sub(pat, rep, key)
            for a, b in _PREFIX.items():
                if out.startswith(a):
                    return b + out[len(a):]
            return out
    raise KeyError(key)


def convert_mmflow_raft(sd: Mapping[str, torch.Tensor],
                        reference: Mapping[str, torch.Tensor] = None,
                        flip_bgr: bool = True) -> Dict[str, torch.Tensor]:
    """Convert an MMFlow RAFT state dict to torchvision ``raft_large`` names.

    Args:
        sd: MMFlow state dict (169 entries; ``num_batches_tracked`` optional).
        reference: torchvision state dict to check names/shapes against
            (default: a fresh ``raft_large(weights=None)``).
        flip_bgr: Reverse the input channels of the two first convs so the
            result expects RGB like torchvision (MMFlow was fed BGR).

    Returns:
        dict: torchvision state dict (tensors cloned).

    Raises:
        ValueError: Unmapped MMFlow keys, missing torchvision keys or shape
        mismatches (all named in the message).
    """
    if reference is None:
        from torchvision.models.optical_flow import raft_large
        reference = raft_large(weights=None).state_dict()
    out, unmapped, bad_shape = {}, [], []
    for k, v in sd.items():
        try:
            nk = map_key(k)
        except KeyError:
            unmapped.append(k)
            continue
        if nk not in reference:
            unmapped.append(f'{k} -> {nk} (not in torchvision RAFT)')
            continue
        if tuple(reference[nk].shape) != tuple(v.shape):
            bad_shape.append(f'{k} {tuple(v.shape)} vs {nk} {tuple(reference[nk].shape)}')
            continue
        out[nk] = v.detach().clone()
    missing = [k for k in reference if k not in out and
               not k.endswith('num_batches_tracked')]
    msgs = []
    if unmapped:
        msgs.append(f'unmapped MMFlow keys: {unmapped}')
    if bad_shape:
        msgs.append(f'shape mismatches: {bad_shape}')
    if missing:
        msgs.append(f'torchvision keys with no source: {missing}')
    if msgs:
        raise ValueError('not an MMFlow RAFT (raft_large) checkpoint: ' + '; '.join(msgs))
    for k in reference:  # buffers absent in some MMFlow dumps
        if k not in out:
            out[k] = reference[k].clone()
    if flip_bgr:
        for k in FIRST_CONVS:
            out[k] = out[k].flip(1).contiguous()
    return out


def load_raft_state_dict(path: str, trust: Optional[bool] = None
                         ) -> Tuple[Dict[str, torch.Tensor], str]:
    """Load a RAFT checkpoint file as a torchvision RGB state dict.

    Accepts an MMFlow checkpoint (converted on the fly) or a torchvision one.
    The file is read with ``weights_only=True`` and a small allow-list
    (:func:`pico_mm.utils.safe_load.load_checkpoint_file`); a file that needs
    code execution is refused unless trusted.

    Args:
        path (str): Checkpoint file.
        trust (bool, optional): Allow executing pickled objects; None = the
            process-wide ``--trust-checkpoint`` setting.

    Returns:
        tuple: ``(state_dict, source_format)``.

    Raises:
        FileNotFoundError / ValueError: with the file name and the fix.
        UntrustedCheckpointError: The file needs code execution to load.
    """
    from pico_mm.utils.safe_load import (UntrustedCheckpointError,
                                         load_checkpoint_file)
    try:
        ckpt = load_checkpoint_file(path, trust=trust, what='RAFT checkpoint')
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: RAFT checkpoint not found (give the path '
                                'of an MMFlow or torchvision raft_large .pth)') from None
    except UntrustedCheckpointError:
        raise
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    try:
        sd = unwrap_state_dict(ckpt)
    except ValueError as e:
        raise ValueError(f'{path}: {e}') from e
    fmt = detect_format(sd)
    if fmt == 'mmflow':
        try:
            return convert_mmflow_raft(sd), fmt
        except ValueError as e:
            raise ValueError(f'{path}: {e}') from e
    if fmt == 'torchvision':
        return dict(sd), fmt
    raise ValueError(f'{path}: neither an MMFlow nor a torchvision RAFT checkpoint '
                     f'(first keys: {list(sd)[:3]})')
