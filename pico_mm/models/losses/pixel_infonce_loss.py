"""Pixel-level InfoNCE with a negative queue, computed in row chunks."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmselfsup.registry import MODELS
from torch.utils.checkpoint import checkpoint


def _chunk_ce_sum(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                  inv_temp: float) -> torch.Tensor:
    """Summed cross-entropy (label 0) of one chunk of rows.

    Args:
        q (Tensor): m×C queries.
        k (Tensor): m×C positive keys.
        queue (Tensor): C×L negatives.
        inv_temp (float): 1 / temperature.

    Returns:
        Tensor: scalar, sum over the m rows of ``-log softmax(logits)[0]``.
    """
    q = q * inv_temp
    pos = (q * k).sum(dim=1)  # m
    neg = q @ queue  # m×L, the only chunk-sized tensor
    if neg.dtype in (torch.float16, torch.bfloat16):  # AMP: reduce in fp32
        pos, neg = pos.float(), neg.float()
    lse = torch.logaddexp(pos, torch.logsumexp(neg, dim=1))
    return (lse - pos).sum()


@MODELS.register_module()
class PixelInfoNCELoss(nn.Module):
    """InfoNCE over point pairs with a queue of negative keys (MoCo style).

    For M query/key pairs ``loss = mean_i CE([q_i·k_i, q_i·queue] / T, 0)``.
    Inputs are used as given: L2-normalise ``q``, ``k`` and the queue first.

    The (M×(1+L)) logits are built ``chunk_size`` rows at a time. When
    gradients are needed every chunk is wrapped in activation checkpointing,
    so forward and backward each hold at most one chunk of logits (backward
    recomputes the chunk). Chunked and unchunked results are equal up to
    float summation order.

    Args:
        temperature (float): Softmax temperature T. Defaults to 0.2
            (MoCo-v2 / DenseCL; VADeR used 0.07).
        chunk_size (int): Rows of logits per chunk; ``<= 0`` disables
            chunking. Defaults to 4096.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 0.2,
                 chunk_size: int = 4096,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(
                f'PixelInfoNCELoss: temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.chunk_size = int(chunk_size)
        self.loss_weight = float(loss_weight)

    def forward(self,
                q: torch.Tensor,
                k: torch.Tensor,
                queue: torch.Tensor,
                valid: Optional[torch.Tensor] = None,
                avg_factor: Optional[Union[float, torch.Tensor]] = None
                ) -> torch.Tensor:
        """Compute the loss.

        Args:
            q (Tensor): M×C query embeddings (L2-normalised).
            k (Tensor): M×C positive keys (L2-normalised, no grad expected).
            queue (Tensor): C×L negative keys (L2-normalised); never
                receives a gradient.
            valid (Tensor, optional): M bool mask; invalid rows are ignored.
            avg_factor (float | Tensor, optional): Divide the summed loss by
                this instead of the number of valid rows (under DDP: the mean
                pair count per process, ``global_mean_count``, so every pair
                of every process weighs the same). A float must be > 0; a
                0-d tensor is used as is (checking it would synchronise the
                host with the device).

        Returns:
            Tensor: scalar loss averaged over the valid rows (or divided by
            ``avg_factor``; 0, still attached to ``q``'s graph, when there
            are no rows).
        """
        if q.dim() != 2 or q.shape != k.shape:
            raise ValueError('PixelInfoNCELoss: q and k must both be M×C, got '
                             f'{tuple(q.shape)} and {tuple(k.shape)}')
        if queue.dim() != 2 or queue.shape[0] != q.shape[1]:
            raise ValueError(f'PixelInfoNCELoss: queue must be C×L with '
                             f'C={q.shape[1]}, got {tuple(queue.shape)}')
        if valid is not None:
            q, k = q[valid], k[valid]
        num = q.shape[0]
        if num == 0:
            return q.sum() * 0.0
        queue = queue.detach().to(q.dtype)
        inv_temp = 1.0 / self.temperature
        step = num if self.chunk_size <= 0 else self.chunk_size
        use_ckpt = torch.is_grad_enabled() and (q.requires_grad
                                                or k.requires_grad)
        if step >= num:
            total = _chunk_ce_sum(q, k, queue, inv_temp)
        else:
            total = 0.0
            for start in range(0, num, step):
                qc, kc = q[start:start + step], k[start:start + step]
                if use_ckpt:
                    part = checkpoint(
                        _chunk_ce_sum,
                        qc,
                        kc,
                        queue,
                        inv_temp,
                        use_reentrant=False)
                else:
                    part = _chunk_ce_sum(qc, kc, queue, inv_temp)
                total = total + part
        if isinstance(avg_factor, torch.Tensor):
            # Not checked on the host (that would synchronise with the
            # device); global_mean_count is > 0 whenever this rank has rows.
            denom = avg_factor.to(total.dtype)
        else:
            denom = num if avg_factor is None else float(avg_factor)
            if denom <= 0:
                raise ValueError(f'PixelInfoNCELoss: avg_factor must be > 0, '
                                 f'got {avg_factor}')
        return total / denom * self.loss_weight
