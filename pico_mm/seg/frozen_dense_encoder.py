"""Frozen encoder (ResNet [+ PiCo FPN decoder]) used as an mmseg backbone."""
from typing import List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from pico_mm.models.necks import PiCoFPNNeck
from pico_mm.utils.strict_load import load_state_dict_strict


@MODELS.register_module()
class FrozenDenseEncoder(BaseModule):
    """A frozen ResNet, optionally followed by PiCo's FPN + semantic decoder.

    Used as ``backbone`` of an mmseg ``EncoderDecoder``/``DepthEstimator`` for
    linear probing. Every parameter has ``requires_grad=False``, the module is
    kept in eval mode (BN running statistics never change, even after
    ``model.train()``), and the forward pass runs under ``torch.no_grad()``.

    * PiCo: ``backbone=dict(type='ResNet', depth=50)`` and ``neck=dict(...)``
      (``PiCoFPNNeck`` arguments) → one N×128×H/4×W/4 embedding.
    * MoCo-v2 baseline: a dilated ResNet (``strides=(1, 1, 1, 1),
      dilations=(1, 2, 4, 8), out_indices=(3,)``) and ``neck=None`` →
      N×2048×H/4×W/4.

    Args:
        backbone (dict): mmseg backbone config (normally ``ResNet``).
        neck (dict, optional): ``PiCoFPNNeck`` keyword arguments, or None.
        checkpoint (str, optional): Export of ``tools/model_converters/
            pico2mm.py --target mmseg`` (keys ``backbone.*`` [+ ``neck.*``]).
            Loaded strictly in ``init_weights``: zero missing and zero
            unexpected keys, otherwise an error. None keeps random weights
            (only meaningful in tests).
        init_cfg (dict, optional): Unused by the probes; kept for mmengine.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 checkpoint: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # mmseg scope even if another default scope is current
        with DefaultScope.overwrite_default_scope('mmseg'):
            self.backbone = MODELS.build(backbone)
        self.neck = PiCoFPNNeck(**neck) if neck is not None else None
        self.checkpoint = checkpoint
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> 'FrozenDenseEncoder':
        """Always stay in eval mode (frozen BN statistics).

        Args:
            mode (bool): Ignored.

        Returns:
            FrozenDenseEncoder: self.
        """
        return super().train(False)

    def init_weights(self) -> None:
        """Initialise, then load ``checkpoint`` strictly when given."""
        super().init_weights()
        if self.checkpoint is None:
            print_log(
                'FrozenDenseEncoder: no checkpoint given, the frozen '
                'features are random (set model.backbone.checkpoint)',
                logger='current', level=30)
            return
        load_state_dict_strict(
            self, self.checkpoint,
            'export the checkpoint with tools/model_converters/pico2mm.py '
            '--target mmseg (PiCo) or --source moco (MoCo-v2) and check '
            'that the backbone/neck config matches it')
        print_log(f'FrozenDenseEncoder: loaded {self.checkpoint} (all keys '
                  'matched)', logger='current')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Extract frozen features.

        Args:
            x (Tensor): N×3×H×W normalised images.

        Returns:
            tuple[Tensor]: with a neck ``(emb,)``, emb N×C_out×H/4×W/4;
            without, the backbone outputs (e.g. ``(C5,)`` N×2048×H/4×W/4 for
            the dilated ResNet-50).
        """
        with torch.no_grad():
            feats = self.backbone(x)
            if self.neck is not None:
                feats = self.neck(feats)
        return tuple(feats)
