"""Bilinear sampling of dense maps at image-pixel points (contract coords)."""
from typing import Tuple

import torch
import torch.nn.functional as F


def points_to_grid(points: torch.Tensor,
                   img_size: Tuple[int, int]) -> torch.Tensor:
    """Convert pixel-index points to ``grid_sample`` coordinates.

    The centre of pixel ``img[r, c]`` is ``(x=c, y=r)``; with
    ``align_corners=False`` that is ``g = (x + 0.5) / W * 2 - 1`` whatever the
    stride of the sampled map (docs/contracts.md).

    Args:
        points (Tensor): ...×2 float ``(x, y)`` in the input image.
        img_size (tuple[int, int]): ``(H, W)`` of the input image.

    Returns:
        Tensor: ...×2 normalised ``(gx, gy)`` in [-1, 1] for in-image points.
    """
    h, w = img_size
    scale = points.new_tensor([2.0 / w, 2.0 / h])
    return (points + 0.5) * scale - 1.0


def sample_points(maps: torch.Tensor, points: torch.Tensor,
                  img_size: Tuple[int, int]) -> torch.Tensor:
    """Bilinearly sample ``maps`` at image points.

    Args:
        maps (Tensor): N×C×h×w feature maps (any stride).
        points (Tensor): N×P×2 float ``(x, y)`` pixel coords of the input
            image of size ``img_size``.
        img_size (tuple[int, int]): ``(H, W)`` of the input image.

    Returns:
        Tensor: N×P×C sampled features, fp32 (or fp64) even for fp16 maps
        (border padding for points on the outer half-pixel rim).
    """
    # At least fp32: fp16 coordinates would be off by up to 0.5 px at 1000 px.
    dtype = torch.promote_types(maps.dtype, torch.float32)
    grid = points_to_grid(points.to(dtype), img_size).unsqueeze(2)
    out = F.grid_sample(
        maps.to(dtype), grid, mode='bilinear', padding_mode='border',
        align_corners=False)  # N×C×P×1
    return out.squeeze(3).transpose(1, 2)
