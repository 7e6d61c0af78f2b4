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

    Pair budget (fair static baselines): when ``points2_budget`` (M×2, the
    PiCo sample's tracked points in frame 2) is present, it is mapped through
    view 2's geometry together with ``points2``, and the pairs kept are
    limited (the first ones) to the number of ``points1 <-> points2_budget``
    pairs that survive the same two views. A static baseline then keeps no
    more pairs than PiCo would have kept with exactly these crops, so the
    pairs per sample the loss sees match PiCo's (identity pairs would
    otherwise survive the crops more often: both ends sit at one position).

    Required keys: ``img``, ``img2`` (H×W×3 uint8), ``points1``, ``points2``
    (M×2 float32, (x, y) pixel-index coordinates); optional
    ``points2_budget`` (M×2).
    Modified keys: the same (views: h×w×3; points: M'×2 with M' <= M).
    Added keys: ``num_pairs_before_views`` (M). Removed: ``points2_budget``.

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
        budget_pts = results.pop('points2_budget', None)
        outs = []
        for v, (img_key, pts_key) in enumerate(self.views):
            img = results[img_key]
            pts = as_points(results[pts_key])
            if v == 1 and budget_pts is not None:
                pts = np.concatenate([pts, as_points(budget_pts)])
            view = dict(
                img=img,
                img_shape=img.shape[:2],
                ori_shape=img.shape[:2],
                points=pts)
            out = self.pipeline(view)
            if out is None:
                raise RuntimeError(
                    f'view pipeline returned None for {img_key!r}')
            outs.append(out)
        p1, p2 = outs[0]['points'], outs[1]['points']
        budget = None
        if budget_pts is not None:
            p2, shadow = p2[:len(p1)], p2[len(p1):]
            if len(shadow) != len(p1):
                raise RuntimeError('points2_budget must have as many points '
                                   f'as points1 ({len(shadow)} vs {len(p1)})')
            budget = int(valid_pairs(p1, shadow).sum())
        if len(p1) != len(p2):
            raise RuntimeError(
                'view transforms must keep the number of points '
                f'(got {len(p1)} vs {len(p2)}); mark dropped points NaN')
        keep = valid_pairs(p1, p2)
        results['num_pairs_before_views'] = len(keep)
        if budget is not None and keep.sum() > budget:
            # the first ``budget`` valid pairs: track order is unrelated to
            # position, and no random draw is made, so with the same seed a
            # static arm gets exactly PiCo's crops (PackPiCoInputs still
            # takes a random subset when it caps at num_points)
            keep[np.flatnonzero(keep)[budget:]] = False
        for (img_key, pts_key), out, pts in zip(self.views, outs, (p1, p2)):
            results[img_key] = out['img']
            results[pts_key] = np.ascontiguousarray(pts[keep],
                                                    dtype=np.float32)
        results['img_shape'] = outs[0]['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'transforms={self.pipeline})')
