"""An mmdet ``FPN`` whose weights and mode stay frozen."""
from typing import Tuple

import torch
from mmdet.models.necks import FPN
from mmdet.registry import MODELS


@MODELS.register_module()
class FrozenFPN(FPN):
    """mmdet ``FPN`` that is truly frozen (for frozen-feature Mask R-CNN).

    All parameters get ``requires_grad=False``; ``train()`` keeps the module
    in eval mode (so norm layers, if any, never update their statistics,
    even though ``EpochBasedTrainLoop`` calls ``model.train()`` every epoch);
    the forward pass runs under ``torch.no_grad()``. Unlike
    ``paramwise_cfg`` with ``lr_mult=0`` this computes no gradients and
    applies no weight decay. Its weights come from ``load_from`` (the
    ``pico2mm.py --target mmdet`` export holds ``neck.lateral_convs.*`` and
    ``neck.fpn_convs.*``, the FPN part of PiCo's neck).

    Args:
        *args, **kwargs: ``FPN`` arguments (e.g. ``in_channels=[256, 512,
            1024, 2048], out_channels=256, num_outs=5``).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> 'FrozenFPN':
        """Always stay in eval mode.

        Args:
            mode (bool): Ignored.

        Returns:
            FrozenFPN: self.
        """
        return super().train(False)

    def forward(self, inputs: Tuple[torch.Tensor]) -> tuple:
        """FPN forward without autograd.

        Args:
            inputs (tuple[Tensor]): C2..C5, N×C_i×H/s_i×W/s_i.

        Returns:
            tuple[Tensor]: P2..P6, N×out_channels×H/s×W/s.
        """
        with torch.no_grad():
            return super().forward(inputs)
