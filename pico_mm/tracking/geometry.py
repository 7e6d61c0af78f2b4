"""Point sampling helpers shared by the tracker (pure torch).

Coordinates follow ``docs/contracts.md``: a point ``(x, y)`` is in pixel-index
coordinates (the centre of ``img[r, c]`` is ``(x=c, y=r)``) and a map of any
size is sampled with ``F.grid_sample(align_corners=False)`` at
``gx = (x + 0.5) / W * 2 - 1``, ``gy = (y + 0.5) / H * 2 - 1``.
"""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def to_chw_tensor(field, device: torch.device) -> torch.Tensor:
    """Convert an H×W×C array (or tensor) into a float32 1×C×H×W tensor.

    Args:
        field (np.ndarray | torch.Tensor): H×W×C map, e.g. a flow field with
            (x, y) channels.
        device (torch.device): Target device.

    Returns:
        torch.Tensor: 1×C×H×W float32 tensor on ``device``.
    """
    if isinstance(field, np.ndarray):
        field = torch.from_numpy(np.ascontiguousarray(field, dtype=np.float32))
    field = field.to(device=device, dtype=torch.float32)
    if field.dim() != 3:
        raise ValueError(f'expected an H×W×C map, got shape {tuple(field.shape)}')
    return field.permute(2, 0, 1).unsqueeze(0)


def grid_params(image_size: Tuple[int, int],
                device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(scale, offset)`` with ``grid = xy * scale + offset`` (contracts).

    ``g = (p + 0.5) / size * 2 - 1 = p * (2 / size) + (1 / size - 1)``.

    Args:
        image_size (tuple[int, int]): ``(H, W)``.
        device (torch.device): Device of the points.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: two float32 tensors of shape 2×1
        (x row, y row), for points stored as 2×N rows.
    """
    h, w = image_size
    scale = torch.tensor([[2.0 / w], [2.0 / h]], device=device)
    offset = torch.tensor([[1.0 / w - 1.0], [1.0 / h - 1.0]], device=device)
    return scale, offset


def sample_points(maps: torch.Tensor, xy: torch.Tensor,
                  image_size: Tuple[int, int],
                  params: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
                  ) -> torch.Tensor:
    """Bilinearly sample a map at sub-pixel image points (one grid_sample).

    Points and results are kept channel-major (rows), the layout the tracker
    computes in: on CPU, element-wise ops on contiguous rows are several
    times cheaper than on the columns of an N×2 tensor.

    Args:
        maps (torch.Tensor): 1×C×h×w map (any stride w.r.t. the image).
        xy (torch.Tensor): 2×N float points, rows ``x`` and ``y``, in image
            pixels.
        image_size (tuple[int, int]): ``(H, W)`` of the image the points live in.
        params (tuple, optional): Cached ``grid_params(image_size, device)``
            (extra trailing items are ignored).

    Returns:
        torch.Tensor: C×N sampled values (border padding outside the map).
    """
    n = xy.shape[1]
    if n == 0:
        return maps.new_zeros((maps.shape[1], 0))
    scale, offset = params[:2] if params else grid_params(
        image_size, xy.device)
    # the grid stays in the points' 2×N rows and goes to the kernel as its
    # transposed 1×1×N×2 view: grid_sampler reads any grid strides, and
    # writing N×2 contiguously (or copying a transpose) costs more than the
    # whole affine map (14 -> 10 µs per call at 1,700 points)
    grid = torch.addcmul(offset, xy, scale)
    # F.grid_sample's kernel without its Python argument checks (a
    # measurable share of a tracker step): bilinear (0), border padding (1)
    out = torch.grid_sampler(maps, grid.t()[None, None], 0, 1, False)
    return out.view(out.shape[1], n)


def flow_gradient_sq(flow: torch.Tensor) -> torch.Tensor:
    """Squared flow gradient magnitude ``|∇u|² + |∇v|²``.

    Uses the 3-tap central difference ``[1, 0, -1] / 2`` of Brox's tracker
    (``CDerivative<float>(3)``) with replicated borders.

    Args:
        flow (torch.Tensor): 1×2×H×W flow (u, v).

    Returns:
        torch.Tensor: 1×1×H×W map.
    """
    pad = F.pad(flow, (1, 1, 1, 1), mode='replicate')
    dx = (pad[:, :, 1:-1, 2:] - pad[:, :, 1:-1, :-2]) * 0.5
    dy = (pad[:, :, 2:, 1:-1] - pad[:, :, :-2, 1:-1]) * 0.5
    return (dx * dx + dy * dy).sum(dim=1, keepdim=True)
