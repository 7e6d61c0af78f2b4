"""Pack two views and their padded point pairs for the PiCo model."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmselfsup.registry import TRANSFORMS
from mmselfsup.structures import SelfSupDataSample

from .point_ops import as_points, valid_pairs


@TRANSFORMS.register_module()
class PackPiCoInputs(BaseTransform):
    """Pack ``img``/``img2`` and up to P point pairs (``docs/contracts.md``).

    At most ``num_points`` valid pairs are kept (a uniformly random subset when
    there are more), then padded with zeros to exactly P rows so that a batch
    stacks; ``points_valid`` marks the real rows (they come first).

    Required keys: ``img``, ``img2`` (h×w×3 uint8, same size), ``points1``,
    ``points2`` (M×2 float32).

    Returns a dict with
        - ``inputs``: ``[view1, view2]``, uint8 3×h×w tensors (BGR);
        - ``data_samples``: :class:`SelfSupDataSample` with ``points_q``
          (P×2 float32, view 1), ``points_k`` (P×2 float32, view 2),
          ``points_valid`` (P bool) and the ``meta_keys`` as metainfo
          (plus ``num_pairs``: valid pairs before the P cap).

    Args:
        num_points (int): P, the fixed number of rows per sample.
        meta_keys (sequence[str]): Keys copied into the metainfo when present.
    """

    def __init__(self,
                 num_points: int = 512,
                 meta_keys: Sequence[str] = ('video', 'frame_inds',
                                             'frame_sampler', 'img_shape')
                 ) -> None:
        if num_points <= 0:
            raise ValueError(f'num_points must be > 0, got {num_points}')
        self.num_points = int(num_points)
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _to_chw(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = img[..., None]
        if img.dtype != np.uint8:
            img = np.clip(np.round(img), 0, 255).astype(np.uint8)
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    def transform(self, results: Dict) -> Dict:
        """Pack one sample.

        Args:
            results (dict): See required keys.

        Returns:
            dict: ``{'inputs': [v1, v2], 'data_samples': SelfSupDataSample}``.
        """
        v1 = self._to_chw(results['img'])
        v2 = self._to_chw(results['img2'])
        if v1.shape != v2.shape:
            raise ValueError('both views must have the same size, got '
                             f'{tuple(v1.shape)} and {tuple(v2.shape)}')
        p1 = as_points(results['points1'])
        p2 = as_points(results['points2'])
        keep = np.flatnonzero(valid_pairs(p1, p2))
        num_pairs = len(keep)
        if num_pairs > self.num_points:
            keep = np.random.choice(keep, self.num_points, replace=False)
        n = len(keep)
        pts_q = np.zeros((self.num_points, 2), np.float32)
        pts_k = np.zeros((self.num_points, 2), np.float32)
        valid = np.zeros(self.num_points, bool)
        pts_q[:n], pts_k[:n], valid[:n] = p1[keep], p2[keep], True

        sample = SelfSupDataSample()
        sample.points_q = torch.from_numpy(pts_q)
        sample.points_k = torch.from_numpy(pts_k)
        sample.points_valid = torch.from_numpy(valid)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta['num_pairs'] = num_pairs
        sample.set_metainfo(meta)
        return dict(inputs=[v1, v2], data_samples=sample)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_points={self.num_points}, '
                f'meta_keys={self.meta_keys})')
