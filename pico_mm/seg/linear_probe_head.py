"""Linear probe decode head: one 1×1 conv on frozen features."""
from typing import Sequence

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class LinearProbeHead(BaseDecodeHead):
    """Linear segmentation probe (no dropout, no norm, no hidden layer).

    ``logits = conv_seg(feat)`` with ``conv_seg`` a 1×1 ``Conv2d(in_channels,
    num_classes)``. ``BaseDecodeHead`` upsamples the logits bilinearly to the
    label size for the softmax cross-entropy loss (``loss_by_feat``) and to
    the padded input size at test time (``predict_by_feat``).

    Args:
        in_channels (int): Channels of the frozen feature (128 for PiCo,
            2048 for a ResNet-50 C5).
        num_classes (int): Number of classes.
        **kwargs: Other ``BaseDecodeHead`` arguments (``in_index``,
            ``loss_decode``, ``ignore_index``, ``align_corners``...).
            ``channels`` and ``dropout_ratio`` are fixed (``in_channels``, 0).
    """

    def __init__(self, in_channels: int, num_classes: int, **kwargs) -> None:
        for fixed in ('channels', 'dropout_ratio', 'input_transform'):
            if kwargs.pop(fixed, None) not in (None, 0, 0.0, in_channels):
                raise ValueError(f'LinearProbeHead: {fixed} is fixed '
                                 '(linear probe: no dropout, one 1x1 conv)')
        super().__init__(
            in_channels=in_channels,
            channels=in_channels,
            num_classes=num_classes,
            dropout_ratio=0.0,
            input_transform=None,
            **kwargs)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Apply the linear classifier.

        Args:
            inputs (Sequence[Tensor]): Features; ``inputs[in_index]`` is
                N×in_channels×h×w.

        Returns:
            Tensor: N×num_classes×h×w logits (before upsampling).
        """
        return self.cls_seg(self._transform_inputs(inputs))
