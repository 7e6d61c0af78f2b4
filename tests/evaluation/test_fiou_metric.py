"""fIoU (frequency-weighted IoU) against a hand-computed confusion matrix."""
import math

import pytest
import torch

from pico_mm.seg import FIoUMetric, frequency_weighted_iou

# gt / pred (255 = ignore). Confusion matrix (rows gt, cols pred), by hand:
#   gt0: [2, 1, 0]   gt1: [0, 2, 0]   gt2: [1, 0, 1]
# IoU0 = 2/(3+3-2) = 1/2, IoU1 = 2/(2+3-2) = 2/3, IoU2 = 1/(2+1-1) = 1/2
# freq = 3/7, 2/7, 2/7 -> fIoU = (3/2 + 4/3 + 1)/7 = 23/42
GT = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 0]])
PRED = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
FIOU = 23 / 42
MIOU = (1 / 2 + 2 / 3 + 1 / 2) / 3


def test_formula_on_hand_counts():
    inter, union, label = [2, 2, 1], [4, 3, 2], [3, 2, 2]
    assert frequency_weighted_iou(inter, union, label) == pytest.approx(FIOU)
    # A class absent from gt (predicted or not) has weight 0.
    assert frequency_weighted_iou([2, 2, 1, 0, 0], [4, 3, 2, 5, 0],
                                  [3, 2, 2, 0, 0]) == pytest.approx(FIOU)
    assert math.isnan(frequency_weighted_iou([0], [0], [0]))


def test_metric_matches_hand_confusion_matrix():
    metric = FIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    # Split the image in two "images" to check accumulation over samples.
    samples = [
        dict(pred_sem_seg=dict(data=PRED[i:i + 1]),
             gt_sem_seg=dict(data=GT[i:i + 1]), img_path=f'{i}.png')
        for i in range(2)
    ]
    metric.process({}, samples)
    out = metric.evaluate(2)
    assert out['fIoU'] == pytest.approx(round(FIOU * 100, 2))
    assert out['mIoU'] == pytest.approx(round(MIOU * 100, 2))
    assert out['aAcc'] == pytest.approx(round(5 / 7 * 100, 2))


def test_miou_is_added_when_missing():
    assert 'mIoU' in FIoUMetric(iou_metrics=['mDice']).metrics
