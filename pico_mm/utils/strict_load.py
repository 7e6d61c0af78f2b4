"""Load exported frozen features strictly (zero missing, zero unexpected keys).

mmengine's ``Pretrained`` init and ``load_from`` use ``strict=False``: a wrong
or partial file only logs a warning and leaves the rest random. Frozen
features are never trained afterwards, so pico_mm's frozen modules (mmseg
``FrozenDenseEncoder``, mmdet ``FrozenMaskRCNN``) load their weights with
:func:`load_state_dict_strict` at model initialisation instead.
"""
from typing import Dict, Optional, Sequence

import torch


def _fmt(keys, n=5):
    more = f' (+{len(keys) - n} more)' if len(keys) > n else ''
    return f'{keys[:n]}{more}'


def load_state_dict_strict(module: torch.nn.Module, checkpoint: Optional[str],
                           fix_hint: str,
                           parts: Optional[Sequence[str]] = None
                           ) -> Dict[str, int]:
    """Load ``checkpoint['state_dict']`` into ``module`` with zero tolerance.

    Args:
        module (nn.Module): Target.
        checkpoint (str): Local file (an export of
            ``tools/model_converters/pico2mm.py``; read weights-only).
        fix_hint (str): What the user should do when the file does not fit.
        parts (Sequence[str], optional): Load only these sub-modules
            (attribute names, e.g. ``('backbone', 'neck')``): the file must
            hold exactly their keys as ``<part>.<key>`` and nothing else.
            None: the file's keys are the whole module's keys.

    Returns:
        dict: ``{'loaded': number of tensors}``.

    Raises:
        FileNotFoundError: No checkpoint given, or the file does not exist.
        KeyError: Missing or unexpected keys (counts and first 5 of each).
        RuntimeError: Unreadable file or a shape mismatch.
    """
    from .safe_load import load_checkpoint_file
    name = module.__class__.__name__
    if not checkpoint:
        raise FileNotFoundError(f'{name}: no checkpoint given for the frozen '
                                f'weights; {fix_hint}')
    try:
        ckpt = load_checkpoint_file(checkpoint, what=f'{name} checkpoint')
    except FileNotFoundError:
        raise FileNotFoundError(f'{checkpoint}: checkpoint of the frozen '
                                f'{name} weights not found; {fix_hint}'
                                ) from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise RuntimeError(f'{checkpoint}: holds no state dict; {fix_hint}')
    targets = {'': module} if parts is None else {
        p + '.': getattr(module, p) for p in parts}
    own = {prefix + k: v for prefix, mod in targets.items()
           for k, v in mod.state_dict().items()}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise KeyError(
            f'{checkpoint}: {len(missing)} missing keys {_fmt(missing)} and '
            f'{len(unexpected)} unexpected keys {_fmt(unexpected)} for '
            f'{name}; {fix_hint}')
    for prefix, mod in targets.items():
        part = {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}
        try:
            mod.load_state_dict(part, strict=True)
        except RuntimeError as err:
            raise RuntimeError(f'{checkpoint}: {err}; {fix_hint}') from None
    return {'loaded': len(state)}
