"""MoCo-v2's projection MLP as 1×1 convolutions, applied densely."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmselfsup.registry import MODELS


@MODELS.register_module()
class DenseProjectionHead(BaseModule):
    """1×1 conv → BN → ReLU → 1×1 conv, used only for the PiCo loss.

    This is MoCo-v2's projection MLP (``fc-relu-fc`` with 2048 hidden units)
    applied at every position, as in DenseCL's dense neck, with a BN added
    after the first layer (issue 3).

    Args:
        in_channels (int): Embedding channels coming from the neck.
            Defaults to 128.
        hid_channels (int): Hidden width. Defaults to 2048.
        out_channels (int): Projected channels. Defaults to 128.
        norm_cfg (dict): Norm after the first conv.
            Defaults to ``dict(type='BN')``.
        init_cfg (dict or list[dict], optional): Initialisation.
            Defaults to None (PyTorch defaults).
    """

    def __init__(self,
                 in_channels: int = 128,
                 hid_channels: int = 2048,
                 out_channels: int = 128,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if norm_cfg is None:
            norm_cfg = dict(type='BN')
        self.in_channels = in_channels
        self.hid_channels = hid_channels
        self.out_channels = out_channels
        self.conv1 = nn.Conv2d(in_channels, hid_channels, 1, bias=False)
        _, self.bn1 = build_norm_layer(norm_cfg, hid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(hid_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a dense embedding.

        Args:
            x (Tensor): N×in_channels×h×w.

        Returns:
            Tensor: N×out_channels×h×w (not normalised).
        """
        return self.conv2(self.relu(self.bn1(self.conv1(x))))
