"""FPN + Panoptic-FPN semantic branch producing PiCo's dense embedding."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmselfsup.registry import MODELS


@MODELS.register_module()
class PiCoFPNNeck(BaseModule):
    """FPN followed by the Panoptic-FPN semantic branch (stride-4 embedding).

    The FPN part copies the layout of mmdet/mmseg ``FPN`` (``lateral_convs[i]``
    1×1 and ``fpn_convs[i]`` 3×3 ``ConvModule``; no norm, with bias; nearest
    top-down upsampling) so that ``neck.lateral_convs.*``/``neck.fpn_convs.*``
    load into ``FPN(in_channels, fpn_channels, num_outs=4)`` unchanged.

    The semantic branch follows `Panoptic FPN <https://arxiv.org/abs/1901.02446>`_
    (and mmseg ``FPNHead``): for the level of stride ``s``,
    ``max(1, log2(s) - 2)`` blocks of 3×3 conv–GN–ReLU, each followed by a 2×
    bilinear upsample when ``s != 4``; the levels are summed and a 1×1 conv
    (``conv_emb``) maps ``decoder_channels`` to ``out_channels``.

    Args:
        in_channels (Sequence[int]): Channels of C2..C5.
            Defaults to (256, 512, 1024, 2048) (ResNet-50).
        fpn_channels (int): FPN width. Defaults to 256.
        decoder_channels (int): Semantic branch width. Defaults to 128.
        out_channels (int): Embedding dimension. Defaults to 128.
        feature_strides (Sequence[int]): Strides of the inputs; the first must
            be the smallest. Defaults to (4, 8, 16, 32).
        norm_cfg (dict): Norm of the semantic branch convs.
            Defaults to ``dict(type='GN', num_groups=32, requires_grad=True)``.
        init_cfg (dict or list[dict], optional): Initialisation. Defaults to
            Xavier-uniform on every ``Conv2d`` (mmdet ``FPN``'s default).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 fpn_channels: int = 256,
                 decoder_channels: int = 128,
                 out_channels: int = 128,
                 feature_strides: Sequence[int] = (4, 8, 16, 32),
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(
                type='Xavier', layer='Conv2d', distribution='uniform')
        super().__init__(init_cfg=init_cfg)
        if norm_cfg is None:
            norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
        if len(in_channels) != len(feature_strides):
            raise ValueError(
                f'PiCoFPNNeck: {len(in_channels)} in_channels but '
                f'{len(feature_strides)} feature_strides')
        if min(feature_strides) != feature_strides[0]:
            raise ValueError('PiCoFPNNeck: feature_strides[0] must be the '
                             f'smallest stride, got {tuple(feature_strides)}')
        self.in_channels = tuple(in_channels)
        self.fpn_channels = fpn_channels
        self.decoder_channels = decoder_channels
        self.out_channels = out_channels
        self.feature_strides = tuple(feature_strides)

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for c in self.in_channels:
            self.lateral_convs.append(
                ConvModule(c, fpn_channels, 1, act_cfg=None, inplace=False))
            self.fpn_convs.append(
                ConvModule(
                    fpn_channels,
                    fpn_channels,
                    3,
                    padding=1,
                    act_cfg=None,
                    inplace=False))

        base = math.log2(self.feature_strides[0])
        self.scale_heads = nn.ModuleList()
        for i, stride in enumerate(self.feature_strides):
            head_length = max(1, int(round(math.log2(stride) - base)))
            blocks = []
            for k in range(head_length):
                blocks.append(
                    ConvModule(
                        fpn_channels if k == 0 else decoder_channels,
                        decoder_channels,
                        3,
                        padding=1,
                        norm_cfg=norm_cfg,
                        act_cfg=dict(type='ReLU')))
                if stride != self.feature_strides[0]:
                    blocks.append(
                        nn.Upsample(
                            scale_factor=2,
                            mode='bilinear',
                            align_corners=False))
            self.scale_heads.append(nn.Sequential(*blocks))
        self.conv_emb = nn.Conv2d(decoder_channels, out_channels, 1)

    def fpn_forward(self, feats: Sequence[torch.Tensor]
                    ) -> Tuple[torch.Tensor, ...]:
        """Run the FPN part exactly like mmdet ``FPN`` (num_outs = levels).

        Args:
            feats (Sequence[Tensor]): C2..C5, each N×C_i×H_i×W_i.

        Returns:
            tuple[Tensor]: P2..P5, each N×fpn_channels×H_i×W_i.
        """
        laterals = [conv(feats[i]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[2:], mode='nearest')
        return tuple(conv(laterals[i]) for i, conv in enumerate(self.fpn_convs))

    def forward(self, feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Compute the dense embedding.

        Args:
            feats (Sequence[Tensor]): C2..C5 from the backbone, each
                N×in_channels[i]×H/stride_i×W/stride_i.

        Returns:
            list[Tensor]: ``[emb]`` with emb N×out_channels×H/4×W/4 (the size
            of ``feats[0]``).
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'PiCoFPNNeck expects {len(self.in_channels)} '
                             f'feature maps, got {len(feats)}')
        pyramid = self.fpn_forward(feats)
        out = self.scale_heads[0](pyramid[0])
        for i in range(1, len(pyramid)):
            level = self.scale_heads[i](pyramid[i])
            if level.shape[2:] != out.shape[2:]:
                level = F.interpolate(
                    level, size=out.shape[2:], mode='bilinear',
                    align_corners=False)
            out = out + level
        return [self.conv_emb(out)]
