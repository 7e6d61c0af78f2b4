"""Deterministic resize that maps point coordinates exactly."""
from typing import Dict, Sequence, Union

import mmcv
from mmcv.transforms import BaseTransform
from mmselfsup.registry import TRANSFORMS

from .point_ops import resize_points


@TRANSFORMS.register_module()
class PointResize(BaseTransform):
    """Resize ``img`` to a fixed size and map ``points`` with it.

    Useful for evaluation-style views and visualisation; the random view
    pipeline uses :class:`PointRandomResizedCrop`.

    Required keys: ``img``; optional ``points`` (M×2 float32).
    Modified keys: ``img``, ``img_shape``, ``points``.

    Args:
        size (int | tuple[int, int]): Output (h, w).
        interpolation (str): mmcv interpolation name.
        backend (str): 'cv2' or 'pillow'.
        points_key (str): Key of the M×2 point array. Defaults to 'points'.
    """

    def __init__(self,
                 size: Union[int, Sequence[int]],
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2',
                 points_key: str = 'points') -> None:
        self.size = tuple(size) if isinstance(size,
                                              (tuple, list)) else (size, size)
        self.interpolation = interpolation
        self.backend = backend
        self.points_key = points_key

    def transform(self, results: Dict) -> Dict:
        """Resize the image and map the points.

        Args:
            results (dict): Needs ``img``; ``points`` is optional.

        Returns:
            dict: The same dict, updated.
        """
        img = results['img']
        h, w = img.shape[:2]
        out_h, out_w = self.size
        results['img'] = mmcv.imresize(
            img, (out_w, out_h),
            interpolation=self.interpolation,
            backend=self.backend)
        results['img_shape'] = (out_h, out_w)
        if self.points_key in results:
            results[self.points_key] = resize_points(results[self.points_key],
                                                     (w, h), (out_w, out_h))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r}, '
                f'points_key={self.points_key!r})')
