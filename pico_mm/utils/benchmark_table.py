"""Paper-layout result tables of ``tools/benchmark.py`` (pure python).

Three tables, as in the PiCo paper: COCO-54 semantic segmentation (Table 1),
frozen Mask R-CNN on COCO (Table 2) and the transfer benchmarks VOC /
Cityscapes / NYU-depth (Table 3). Your rows come first, then the paper's rows
(``<method> (paper)``). A paper row is shown when it has a number in that
table, or when one of your rows has a method that the table prints no number
for (so your MoCo-v2 rows get a ``–`` paper row in Tables 2-3, which print no
MoCo-v2 row). ``–`` marks a cell that is not available.
"""
from typing import Dict, List, Optional, Tuple

DASH = '–'
DET_KEYS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'segm_mAP',
            'segm_mAP_50', 'segm_mAP_75')
#: (title, header labels, [(benchmark, metric), ...]) per table.
TABLES = [
    ('COCO semantic segmentation, 54 classes, frozen features + linear probe '
     '(paper Table 1)', ['mIoU', 'fIoU'], [('coco', 'mIoU'), ('coco', 'fIoU')]),
    ('COCO Mask R-CNN R50-FPN 1x, frozen backbone + FPN (paper Table 2)',
     ['AP^bb', 'AP^bb_50', 'AP^bb_75', 'AP^mk', 'AP^mk_50', 'AP^mk_75'],
     [('maskrcnn', k) for k in DET_KEYS]),
    ('Transfer, frozen features + linear probe (paper Table 3)',
     ['VOC mIoU', 'CS mIoU', 'NYU RMSE'],
     [('voc', 'mIoU'), ('cityscapes', 'mIoU'), ('nyu', 'rmse')]),
]


def fmt(v) -> str:
    """Your metric: 2 decimals (>= 1) or 3 (< 1); strings as they are."""
    if isinstance(v, (int, float)):
        return f'{v:.2f}' if abs(v) >= 1 else f'{v:.3f}'
    return str(v)


def pick(metrics: Dict, key: str):
    """Metric by short name; mmdet prefixes ``coco/`` and gives [0, 1]."""
    if key in metrics:
        return metrics[key]
    if 'coco/' + key in metrics:
        return round(100 * float(metrics['coco/' + key]), 2)
    return DASH


def _render(title: str, header: List[str], rows: List[List[str]]) -> List[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    out = [title]
    for r in [header] + rows:
        out.append(' | '.join(str(c).ljust(w) for c, w in zip(r, widths))
                   .rstrip())
    out.append('')
    return out


def format_table(results: Dict[str, Dict[str, Dict]],
                 paper: Dict[Tuple[str, str], Dict[str, Dict[str, str]]],
                 pretrain: Optional[str] = 'this run') -> str:
    """Paper-layout tables of your results and the paper's numbers.

    Args:
        results (dict): ``{method: {benchmark: metrics}}`` (results.json).
        paper (dict): ``{(method, pre-training data): {benchmark: {metric:
            number as printed}}}`` (``PAPER`` of tools/benchmark.py).
        pretrain (str): Pre-train column of your rows.

    Returns:
        str: Up to three text tables (a table with no row is left out).
    """
    lines = []
    for title, labels, cells in TABLES:
        benches = {b for b, _ in cells}
        rows, mine = [], set()
        for method, res in results.items():
            if benches & set(res):
                mine.add(method)
                rows.append([method, pretrain] + [
                    fmt(pick(res.get(b, {}), k)) for b, k in cells])
        has = {key: any(k in ref.get(b, {}) for b, k in cells)
               for key, ref in paper.items()}
        printed = {m for (m, _), h in has.items() if h}
        for (method, data), ref in paper.items():
            if has[(method, data)] or (method in mine and
                                       method not in printed):
                rows.append([f'{method} (paper)', data] + [
                    str(ref.get(b, {}).get(k, DASH)) for b, k in cells])
        if rows:
            lines += _render(title, ['Method', 'Pre-train'] + labels, rows)
    return '\n'.join(lines)
