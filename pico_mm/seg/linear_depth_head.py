"""Linear depth probe for mmseg's ``DepthEstimator`` (masked L1 loss)."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import SampleList


@MODELS.register_module()
class LinearDepthHead(BaseDecodeHead):
    """Linear depth regression: one 1×1 conv, linear output, L1 loss.

    ``depth = conv_depth(feat)`` (no activation, no softmax). Training
    upsamples bilinearly to the ``gt_depth_map`` size and minimises the mean
    absolute error over valid pixels (``gt > min_valid_depth``; padding uses
    ``seg_pad_val=0`` and is therefore ignored). L1 was chosen over mmseg's
    ``SiLogLoss`` because SiLog takes ``log(pred)`` and a linear output can
    be ≤ 0. At test time the prediction is clamped to ``>= min_pred_depth``
    so that mmseg's ``DepthMetric`` log-metrics stay finite (RMSE is
    unaffected for positive predictions).

    Args:
        in_channels (int): Channels of the frozen feature.
        in_index (int): Which input feature to use. Defaults to -1.
        min_valid_depth (float): Ground truth at or below it is ignored.
            Defaults to 1e-3 (metres).
        min_pred_depth (float): Clamp of test predictions. Defaults to 1e-3.
        loss_weight (float): Weight of the L1 loss. Defaults to 1.0.
        align_corners (bool): ``F.interpolate`` argument. Defaults to False.
        init_cfg (dict): Defaults to Normal(std=0.01) on ``conv_depth``.
    """

    def __init__(self,
                 in_channels: int,
                 in_index: int = -1,
                 min_valid_depth: float = 1e-3,
                 min_pred_depth: float = 1e-3,
                 loss_weight: float = 1.0,
                 align_corners: bool = False,
                 init_cfg=dict(
                     type='Normal', std=0.01, override=dict(name='conv_depth'))
                 ) -> None:
        # BaseDecodeHead.__init__ builds a classifier and a registered loss;
        # neither applies here, so initialise BaseModule directly (as mmseg's
        # VPDDepthHead does) and set the attributes the base methods use.
        super(BaseDecodeHead, self).__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.in_index = in_index
        self.input_transform = None
        self.align_corners = align_corners
        self.ignore_index = None  # used by BaseDecodeHead.extra_repr
        self.num_classes = 1
        self.out_channels = 1
        self.min_valid_depth = min_valid_depth
        self.min_pred_depth = min_pred_depth
        self.loss_weight = loss_weight
        self.conv_depth = nn.Conv2d(in_channels, 1, kernel_size=1)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Predict depth at feature resolution.

        Args:
            inputs (Sequence[Tensor]): ``inputs[in_index]`` N×C×h×w.

        Returns:
            Tensor: N×1×h×w depth (metres, unbounded linear output).
        """
        return self.conv_depth(self._transform_inputs(inputs))

    def loss_by_feat(self, pred_depth: torch.Tensor,
                     batch_data_samples: SampleList) -> dict:
        """Masked L1 loss.

        Args:
            pred_depth (Tensor): N×1×h×w.
            batch_data_samples (list[SegDataSample]): with ``gt_depth_map``
                (1×H×W each).

        Returns:
            dict: ``loss_depth_l1`` (scalar) and ``depth_mae`` (detached).
        """
        gt = torch.stack(
            [s.gt_depth_map.data for s in batch_data_samples]).to(pred_depth)
        pred = resize(pred_depth, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        valid = gt > self.min_valid_depth
        if valid.any():
            l1 = (pred - gt).abs()[valid].mean()
        else:  # keep the graph (zero loss) when a crop has no valid depth
            l1 = pred.sum() * 0.0
        return dict(loss_depth_l1=self.loss_weight * l1,
                    depth_mae=l1.detach())

    def predict_by_feat(self, pred_depth: torch.Tensor,
                        batch_img_metas: List[dict]) -> torch.Tensor:
        """Upsample to the padded input size and clamp.

        Args:
            pred_depth (Tensor): N×1×h×w.
            batch_img_metas (list[dict]): Image metas.

        Returns:
            Tensor: N×1×H×W depth, ``>= min_pred_depth``.
        """
        out = super().predict_by_feat(pred_depth, batch_img_metas)
        return out.clamp(min=self.min_pred_depth)
