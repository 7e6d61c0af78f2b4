"""Run one view pipeline independently on both frames of a correspondence."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmselfsup.registry import TRANSFORMS

from .point_ops import as_points, valid_pairs


@TRANSFORMS.register_module()
class CorrespondenceViews(BaseTransform):
    """Make two augmented views of a frame pair, keeping point pairs aligned.

    For each view ``(img_key, points_key)`` in ``views`` the per-view pipeline
    ``transforms`` runs on a fresh dict ``{'img', 'img_shape', 'points'}``
    (so each view draws its own random crop / flip / colour parameters, and
    mmselfsup/mmcv photometric transforms that only know ``img`` work
    unchanged). Geometric transforms set points that leave the view to NaN;
    afterwards every pair with a NaN in either view is dropped from both
    arrays, so ``points1[i] <-> points2[i]`` still holds.

    Required keys: ``img``, ``img2`` (H×W×3 uint8), ``points1``, ``points2``
    (M×2 float32, (x, y) pixel-index coordinates).
    Modified keys: the same (views: h×w×3; points: M'×2 with M' <= M).
    Added keys: ``num_pairs_before_views`` (M).

    Args:
        transforms (list[dict | callable]): Per-view pipeline.
        views (sequence[tuple[str, str]]): (image key, points key) of each
            view. Defaults to (('img', 'points1'), ('img2', 'points2')).
    """

    def __init__(self,
                 transforms: List,
                 views: Sequence[Tuple[str, str]] = (('img', 'points1'),
                                                     ('img2', 'points2'))
                 ) -> None:
        self.pipeline = Compose(transforms)
        self.views = [tuple(v) for v in views]
        if len(self.views) != 2:
            raise ValueError(f'need exactly two views, got {self.views}')

    def transform(self, results: Dict) -> Dict:
        """Augment both views and drop pairs that left either view.

        Args:
            results (dict): See required keys.

        Returns:
            dict: The same dict with augmented views and filtered points.
        """
        outs = []
        for img_key, pts_key in self.views:
            img = results[img_key]
            view = dict(
                img=img,
                img_shape=img.shape[:2],
                ori_shape=img.shape[:2],
                points=as_points(results[pts_key]))
            out = self.pipeline(view)
            if out is None:
                raise RuntimeError(
                    f'view pipeline returned None for {img_key!r}')
            outs.append(out)
        p1, p2 = outs[0]['points'], outs[1]['points']
        if len(p1) != len(p2):
            raise RuntimeError(
                'view transforms must keep the number of points '
                f'(got {len(p1)} vs {len(p2)}); mark dropped points NaN')
        keep = valid_pairs(p1, p2)
        results['num_pairs_before_views'] = len(keep)
        for (img_key, pts_key), out, pts in zip(self.views, outs, (p1, p2)):
            results[img_key] = out['img']
            results[pts_key] = np.ascontiguousarray(pts[keep],
                                                    dtype=np.float32)
        results['img_shape'] = outs[0]['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'transforms={self.pipeline})')
