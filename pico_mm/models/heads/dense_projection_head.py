"""MoCo-v2's projection MLP as 1×1 convolutions, applied densely."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmselfsup.registry import MODELS


@MODELS.register_module()
class DenseProjectionHead(BaseModule):
    """1×1 conv → ReLU → 1×1 conv, used only for the PiCo loss.

    This is MoCo-v2's projection MLP (``fc-relu-fc`` with 2048 hidden units)
    applied at every position, as in DenseCL's dense neck and the paper's
    1×1-conv head. No normalisation by default: with BatchNorm over the batch
    and no key shuffle (one GPU) the statistics of the current keys differ
    from those of the queued ones, and the model can tell positives from
    negatives without learning features (the MoCo paper's "cheating" through
    BN). ``norm_cfg=dict(type='BN')`` adds BN after the first conv; a warning
    is then printed when training on one process.

    Args:
        in_channels (int): Embedding channels coming from the neck.
            Defaults to 128.
        hid_channels (int): Hidden width. Defaults to 2048.
        out_channels (int): Projected channels. Defaults to 128.
        norm_cfg (dict, optional): Norm after the first conv; None (the
            default) for none.
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
        self.in_channels = in_channels
        self.hid_channels = hid_channels
        self.out_channels = out_channels
        self.norm_cfg = norm_cfg
        self.conv1 = nn.Conv2d(
            in_channels, hid_channels, 1, bias=norm_cfg is None)
        self.bn1 = (nn.Identity() if norm_cfg is None else
                    build_norm_layer(norm_cfg, hid_channels)[1])
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(hid_channels, out_channels, 1)
        self._warned = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a dense embedding.

        Args:
            x (Tensor): N×in_channels×h×w.

        Returns:
            Tensor: N×out_channels×h×w (not normalised).
        """
        if (self.training and self.norm_cfg is not None and not self._warned
                and get_world_size() == 1):
            self._warned = True
            print_log(
                'DenseProjectionHead: BatchNorm in the projection head on a '
                'single process: keys are not shuffled across GPUs, so BN '
                'statistics can leak which keys are current (MoCo); use '
                'norm_cfg=None (the default) or train on several GPUs',
                logger='current', level=30)
        return self.conv2(self.relu(self.bn1(self.conv1(x))))
