"""Build a PiCo-style model from a training checkpoint (for probes and tools)."""
import os.path as osp
from typing import Optional, Tuple

import torch

__all__ = ['CheckpointError', 'model_from_checkpoint']


class CheckpointError(RuntimeError):
    """A checkpoint cannot be turned into a model; the message names the fix."""


def _read(path: str) -> dict:
    if not osp.isfile(path):
        raise CheckpointError(f'{path}: checkpoint not found')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file
        raise CheckpointError(f'{path}: cannot be read ({type(e).__name__}); '
                              'it is truncated or not a torch checkpoint') from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: not a checkpoint dict')
    return ckpt


def model_from_checkpoint(path: str, config: Optional[str] = None
                          ) -> Tuple[torch.nn.Module, str]:
    """Model of a training checkpoint, weights loaded strictly, in eval mode.

    The model is built from ``config`` when given, else from the config that
    mmengine stores in the checkpoint (``meta['cfg']``). ``backbone_checkpoint``
    is dropped: every weight comes from the checkpoint.

    Args:
        path (str): ``.pth`` written by ``tools/train.py`` (or ``{'state_dict'}``).
        config (str, optional): Model config (needed for checkpoints without
            ``meta['cfg']``, e.g. the demo's ``init.pth``).

    Returns:
        tuple: ``(model, config source)``.

    Raises:
        CheckpointError: missing/unreadable file, no config, or keys that do not
            match the model.
    """
    import pico_mm  # noqa: F401  (registrations)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import MODELS
    ckpt = _read(path)
    if config is not None:
        if not osp.isfile(config):
            raise CheckpointError(f'{config}: config not found')
        cfg, source = Config.fromfile(config), config
    else:
        text = (ckpt.get('meta') or {}).get('cfg')
        if not text:
            raise CheckpointError(
                f'{path}: holds no config (meta.cfg); pass the model config '
                'with --config (e.g. the run\'s configs/*.py)')
        cfg, source = Config.fromstring(text, '.py'), f'{path}:meta.cfg'
    init_default_scope(cfg.get('default_scope', 'mmselfsup'))
    cfg.model.pop('backbone_checkpoint', None)
    model = MODELS.build(cfg.model)
    state = ckpt.get('state_dict', ckpt)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f'{path}: does not match the model of {source} (missing '
            f'{list(missing)[:3]}, unexpected {list(unexpected)[:3]}); pass the '
            'config it was trained with via --config')
    return model.eval(), source
