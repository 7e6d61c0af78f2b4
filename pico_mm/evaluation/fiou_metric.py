"""Frequency-weighted IoU (fIoU) next to mmseg's mIoU.

Registered into mmseg's ``METRICS`` when ``pico_mm.seg`` is imported (this
module imports mmseg, so ``pico_mm.evaluation`` itself never imports it).
"""
from typing import Dict, List

import numpy as np
import torch
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


def frequency_weighted_iou(area_intersect, area_union, area_label) -> float:
    """fIoU = Σ_c (gt pixels of c / all gt pixels) · IoU_c.

    Classes without ground-truth pixels get weight 0 (their IoU, possibly
    NaN, is ignored). Same definition as detectron2's ``SemSegEvaluator``
    ``fwIoU``.

    Args:
        area_intersect (Tensor | ndarray): C, per-class intersection.
        area_union (Tensor | ndarray): C, per-class union.
        area_label (Tensor | ndarray): C, per-class ground-truth pixel count.

    Returns:
        float: fIoU in [0, 1] (NaN when there is no labelled pixel at all).
    """
    inter = np.asarray(torch.as_tensor(area_intersect), dtype=np.float64)
    union = np.asarray(torch.as_tensor(area_union), dtype=np.float64)
    label = np.asarray(torch.as_tensor(area_label), dtype=np.float64)
    total = label.sum()
    if total <= 0:
        return float('nan')
    present = label > 0
    iou = inter[present] / union[present]
    return float(np.sum(label[present] / total * iou))


@METRICS.register_module()
class FIoUMetric(IoUMetric):
    """mmseg ``IoUMetric`` that also reports ``fIoU`` (percent, 2 decimals).

    Accepts every ``IoUMetric`` argument; ``'mIoU'`` is added to
    ``iou_metrics`` when missing because fIoU is a weighting of the same
    per-class IoUs. Output keys: ``aAcc, mIoU, mAcc, ..., fIoU``.
    """

    def __init__(self, iou_metrics: List[str] = ['mIoU'], **kwargs) -> None:
        iou_metrics = list(iou_metrics)
        if 'mIoU' not in iou_metrics:
            iou_metrics.insert(0, 'mIoU')
        super().__init__(iou_metrics=iou_metrics, **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute mmseg's metrics and add ``fIoU``.

        Args:
            results (list): Per-image 4-tuples ``(intersect, union,
                pred_area, label_area)``, each a C tensor.

        Returns:
            dict[str, float]: mmseg's metrics plus ``fIoU`` (percent).
        """
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        inter, union, _, label = (sum(r[i] for r in results) for i in range(4))
        metrics['fIoU'] = round(
            frequency_weighted_iou(inter, union, label) * 100, 2)
        return metrics
