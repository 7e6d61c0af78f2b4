"""Random image flip that maps point coordinates exactly."""
from typing import Dict

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmselfsup.registry import TRANSFORMS

from .point_ops import flip_points


@TRANSFORMS.register_module()
class PointRandomFlip(BaseTransform):
    """Flip ``img`` with probability ``prob`` and map ``points`` with it.

    A horizontal flip sends pixel column ``c`` to ``W-1-c``, so a point
    ``(x, y)`` goes to ``(W-1-x, y)`` (exact, no point leaves the image).

    Required keys: ``img`` (H×W×C); optional ``points`` (M×2 float32).
    Modified keys: ``img``, ``points``. Added keys: ``flip`` (bool),
    ``flip_direction``.

    Args:
        prob (float): Flip probability. MoCo-v2: 0.5.
        direction (str): 'horizontal', 'vertical' or 'diagonal'.
        points_key (str): Key of the M×2 point array. Defaults to 'points'.
    """

    def __init__(self,
                 prob: float = 0.5,
                 direction: str = 'horizontal',
                 points_key: str = 'points') -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical', 'diagonal'):
            raise ValueError(f'unknown flip direction {direction!r}')
        self.prob = prob
        self.direction = direction
        self.points_key = points_key

    def transform(self, results: Dict) -> Dict:
        """Maybe flip the image and the points.

        Args:
            results (dict): Needs ``img``; ``points`` is optional.

        Returns:
            dict: The same dict, updated.
        """
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if not flip:
            return results
        img = results['img']
        h, w = img.shape[:2]
        results['img'] = np.ascontiguousarray(
            mmcv.imflip(img, direction=self.direction))
        if self.points_key in results:
            results[self.points_key] = flip_points(results[self.points_key], w,
                                                   h, self.direction)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'direction={self.direction!r}, '
                f'points_key={self.points_key!r})')
