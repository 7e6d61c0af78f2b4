"""Pair counts across data-parallel processes (mmengine.dist only)."""
import torch
from mmengine.dist import all_reduce, get_world_size


@torch.no_grad()
def global_mean_count(count: int, device: torch.device) -> float:
    """Mean number of point pairs per process over all processes.

    A loss ``sum_of_local_pair_losses / global_mean_count(m)`` on every
    process, averaged by DDP's gradient all-reduce (a division by the world
    size), equals the mean over *all* pairs of all processes: every pair
    weighs the same, however the pairs are spread. Dividing by the local
    count instead gives the pairs of a process with few of them more weight.

    Args:
        count (int): Pairs in this process's loss (may be 0).
        device (torch.device): Device of the all-reduce tensor.

    Returns:
        float: ``sum over processes of count / world size`` (``count`` when
        not distributed). Every process must call it.
    """
    world = get_world_size()
    if world == 1:
        return float(count)
    total = torch.tensor([float(count)], device=device)
    all_reduce(total)  # sum
    return float(total.item()) / world
