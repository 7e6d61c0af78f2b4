"""Point sampling follows the contract's pixel-centre convention."""
import torch

from pico_mm.models.utils import points_to_grid, sample_points


def _coord_map(h_img, w_img, stride):
    """Stride-s map whose cells hold the image coords of their centres."""
    h, w = h_img // stride, w_img // stride
    ys = torch.arange(h, dtype=torch.float32) * stride + (stride - 1) / 2
    xs = torch.arange(w, dtype=torch.float32) * stride + (stride - 1) / 2
    return torch.stack([xs.view(1, w).expand(h, w),
                        ys.view(h, 1).expand(h, w)])[None]  # 1×2×h×w


def test_pixel_centres_map_to_grid():
    pts = torch.tensor([[0.0, 0.0], [63.0, 31.0]])
    grid = points_to_grid(pts, (32, 64))
    assert torch.allclose(grid[0], torch.tensor([-1 + 1 / 64, -1 + 1 / 32]))
    assert torch.allclose(grid[1], torch.tensor([1 - 1 / 64, 1 - 1 / 32]))


def test_sampling_recovers_coordinates_at_any_stride():
    gen = torch.Generator().manual_seed(0)
    for stride in (1, 4, 8):
        maps = _coord_map(64, 96, stride)
        lo = (stride - 1) / 2  # interior: between the outer cell centres
        pts = torch.rand(1, 50, 2, generator=gen)
        pts[..., 0] = lo + pts[..., 0] * (96 - stride)
        pts[..., 1] = lo + pts[..., 1] * (64 - stride)
        out = sample_points(maps, pts, (64, 96))
        assert out.shape == (1, 50, 2)
        assert torch.allclose(out, pts, atol=1e-4), stride


def test_border_points_are_clamped_not_zero_padded():
    maps = torch.ones(1, 3, 8, 8)
    pts = torch.tensor([[[0.0, 0.0], [31.0, 31.0]]])
    out = sample_points(maps, pts, (32, 32))
    assert torch.allclose(out, torch.ones(1, 2, 3))


def test_half_precision_maps_keep_subpixel_coordinates():
    maps = _coord_map(1024, 1024, 4).half()  # values exact in fp16 (< 2048)
    pts = torch.tensor([[[1000.3, 998.7], [10.25, 700.5]]])
    out = sample_points(maps, pts, (1024, 1024))
    assert out.dtype == torch.float32
    assert torch.allclose(out, pts, atol=1e-3)
