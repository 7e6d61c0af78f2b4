"""MoCo-v2 random resized crop that maps point coordinates exactly."""
from typing import Dict

import mmcv
import numpy as np
from mmselfsup.datasets.transforms import RandomResizedCrop
from mmselfsup.registry import TRANSFORMS

from .point_ops import crop_points, resize_points


@TRANSFORMS.register_module()
class PointRandomResizedCrop(RandomResizedCrop):
    """mmselfsup ``RandomResizedCrop`` that also moves ``points``.

    The crop box comes from mmselfsup's own ``get_params`` (same distribution
    as MoCo-v2's view crop); the image is cropped with integer bounds and
    resized with ``mmcv.imresize`` (half-pixel-centre convention), and every
    point is mapped with the same exact affine map
    ``x' = (x - x0 + 0.5) * W_out / w_crop - 0.5`` (same for y). Points outside
    the crop become NaN (their pair is dropped later by
    :class:`CorrespondenceViews`).

    Required keys: ``img`` (H×W×C uint8); optional ``points`` (M×2 float32).
    Modified keys: ``img`` (size[0]×size[1]×C), ``img_shape``, ``points``.
    Added keys: ``crop_bbox`` (x0, y0, x1, y1) inclusive, in the input image.

    Args:
        size (int | tuple[int, int]): Output (h, w).
        scale (tuple[float, float]): Area fraction range. MoCo-v2: (0.2, 1.0).
        ratio (tuple[float, float]): Aspect ratio range.
        max_attempts (int): Attempts before the central-crop fallback.
        interpolation (str): mmcv interpolation name.
        backend (str): 'cv2' or 'pillow' (both use half-pixel centres).
        points_key (str): Key of the M×2 point array. Defaults to 'points'.
    """

    def __init__(self, *args, points_key: str = 'points', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.points_key = points_key

    def transform(self, results: Dict) -> Dict:
        """Crop, resize and map the points.

        Args:
            results (dict): Needs ``img``; ``points`` is optional.

        Returns:
            dict: The same dict, updated.
        """
        img = results['img']
        # mmselfsup returns the inclusive box (ymin, xmin, ymax, xmax)
        y0, x0, y1, x1 = self.get_params(img, self.scale, self.ratio,
                                         self.max_attempts)
        h, w = y1 - y0 + 1, x1 - x0 + 1
        out_h, out_w = self.size
        img = img[y0:y0 + h, x0:x0 + w]
        img = mmcv.imresize(
            img, (out_w, out_h),
            interpolation=self.interpolation,
            backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['crop_bbox'] = np.array([x0, y0, x0 + w - 1, y0 + h - 1])
        if self.points_key in results:
            pts = crop_points(results[self.points_key], x0, y0, w, h)
            results[self.points_key] = resize_points(pts, (w, h),
                                                     (out_w, out_h))
        return results

    def __repr__(self) -> str:
        return (super().__repr__().rstrip(')') +
                f', points_key={self.points_key!r})')
