"""Pair counts across data-parallel processes (mmengine.dist only)."""
import torch
from mmengine.dist import all_reduce, get_world_size


@torch.no_grad()
def global_mean_count(count: int, device: torch.device) -> torch.Tensor:
    """Mean number of point pairs per process over all processes.

    A loss ``sum_of_local_pair_losses / global_mean_count(m)`` on every
    process, averaged by DDP's gradient all-reduce (a division by the world
    size), equals the mean over *all* pairs of all processes: every pair
    weighs the same, however the pairs are spread. Dividing by the local
    count instead gives the pairs of a process with few of them more weight.

    Every process must call it at every iteration, also one with no pairs
    (``count=0``): the all-reduce is a collective. The result stays on
    ``device`` (no ``.item()``, so no host synchronisation).

    Args:
        count (int): Pairs in this process's loss (may be 0).
        device (torch.device): Device of the all-reduce tensor.

    Returns:
        Tensor: 0-d float32 on ``device``, ``sum over processes of count /
        world size`` (``count`` when not distributed).
    """
    total = torch.full((), float(count), device=device)
    world = get_world_size()
    if world > 1:
        all_reduce(total)  # sum
        total = total / world
    return total
