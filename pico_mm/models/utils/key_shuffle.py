"""MoCo's key shuffle across processes, and whether it is needed.

The shuffle itself is mmselfsup's (``batch_shuffle_ddp`` /
``batch_unshuffle_ddp``, over mmengine.dist); here the point sets follow the
shuffled images so that only sampled key vectors, not dense key maps, are
gathered back. Every function enters the same collectives in the same order
on every process whatever the data.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.dist import get_rank
from mmselfsup.utils import (batch_shuffle_ddp, batch_unshuffle_ddp,
                             concat_all_gather)
from torch.nn.modules.batchnorm import _BatchNorm


def has_train_batchnorm(modules: Sequence[nn.Module]) -> bool:
    """Whether any of ``modules`` holds a BatchNorm layer in training mode.

    Such a layer normalises with the statistics of the current batch, which
    is what MoCo's key shuffle protects against (the model could tell the
    current keys from the queued ones by their BN statistics). Any torch
    ``_BatchNorm`` (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``) and any class
    named ``SyncBatchNorm`` (mmcv's) counts.

    Args:
        modules (Sequence[nn.Module]): The key path.

    Returns:
        bool: True when one of their submodules is such a layer with
        ``training=True``.
    """
    return any(
        m.training and (isinstance(m, _BatchNorm)
                        or type(m).__name__ == 'SyncBatchNorm')
        for module in modules for m in module.modules())


@torch.no_grad()
def shuffle_keys_ddp(im_k: torch.Tensor, points_k: torch.Tensor,
                     valid: torch.Tensor
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                torch.Tensor]:
    """Shuffle the key images across processes; their points follow.

    Collectives: mmselfsup's ``batch_shuffle_ddp`` (an all-gather and a
    broadcast), then one all-gather each for the points and the validity.
    Every process must have the same batch size N and point count P.

    Args:
        im_k (Tensor): N×3×H×W key images of this process.
        points_k (Tensor): N×P×2 their key points.
        valid (Tensor): N×P bool.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: The N shuffled images this
        process now encodes, their N×P×2 points and N×P validity, and the
        index mmselfsup's ``batch_unshuffle_ddp`` needs to bring N×...
        results back.
    """
    im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
    mine = torch.argsort(idx_unshuffle).view(-1, im_k.shape[0])[get_rank()]
    mine = mine.to(points_k.device)
    points_k = concat_all_gather(points_k.contiguous())[mine]
    # not every backend gathers bool
    valid = concat_all_gather(valid.to(torch.uint8))[mine].bool()
    return im_k, points_k, valid, idx_unshuffle

