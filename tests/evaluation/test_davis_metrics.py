"""J and F as in the DAVIS toolkit, on hand-made masks."""
import math

import numpy as np

from pico_mm.evaluation.davis_metrics import (boundary_f, clip_jf, disk,
                                              mean_jf, region_j, seg2bmap)


def _square(shift=0, size=20):
    m = np.zeros((size, size), bool)
    m[5:15, 5 + shift:15 + shift] = True
    return m


def test_region_j_by_hand():
    assert region_j(_square(), _square()) == 1.0
    assert region_j(_square(1), _square()) == 90 / 110
    assert region_j(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0
    void = np.zeros((20, 20), bool)
    void[:, 15:] = True  # the extra column of the shifted mask is void
    assert region_j(_square(1), _square(), void) == 90 / 100


def test_seg2bmap_and_disk():
    b = seg2bmap(_square())
    # the toolkit marks the pixels whose right/lower/lower-right neighbour differs
    assert b[14, 14] and b[4, 4] and b[4, 10] and b[10, 14]
    assert not b[5, 5] and not b[9, 9] and not b[15, 10]
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk(2).sum() == 13


def test_boundary_f_by_hand():
    # 20x20: tolerance ceil(0.008 * 28.3) = 1 px
    assert boundary_f(_square(), _square()) == 1.0
    assert boundary_f(_square(1), _square()) == 1.0  # within 1 px
    far = np.zeros((20, 20), bool)
    far[0:3, 0:3] = True
    assert boundary_f(far, _square()) == 0.0
    assert boundary_f(np.zeros((20, 20)), _square()) == 0.0
    assert boundary_f(np.zeros((20, 20)), np.zeros((20, 20))) == 1.0
    # shift by 3 px: only the top/bottom edges' overlapping parts match
    f = boundary_f(_square(3), _square())
    assert 0.0 < f < 1.0


def test_clip_scores_skip_first_and_last_frame():
    gt = np.zeros((4, 20, 20), np.uint8)
    gt[:, 5:15, 5:15] = 1
    pred = gt.copy()
    pred[0] = 0  # the first and last frames are not scored
    pred[3] = 0
    pred[2, 5:15, 6:16] = pred[2, 5:15, 5:15]
    pred[2, :, 5] = 0
    res = clip_jf(pred, gt)
    assert res[1]['J'] == (1.0 + 90 / 110) / 2
    assert res[1]['F'] == 1.0
    assert res[1]['J&F'] == (res[1]['J'] + 1.0) / 2
    m = mean_jf({'a': res, 'b': {1: {'J': 0.0, 'F': 0.0, 'J&F': 0.0}}})
    assert m['J'] == res[1]['J'] / 2 and m['objects'] == 2
    assert math.isnan(mean_jf({})['J'])
