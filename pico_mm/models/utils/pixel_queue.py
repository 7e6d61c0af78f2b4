"""FIFO queue of L2-normalised key embeddings, DDP-safe for variable counts."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size


class PixelQueue(nn.Module):
    """Queue of negative keys for pixel-level contrastive learning.

    Unlike MoCo's queue it accepts any number of keys per call (each rank may
    have a different number of valid points): keys are gathered across ranks
    (padded to the largest count, then unpadded), written at ``ptr`` with
    wrap-around, and ``fill`` counts how many slots hold real keys.

    Buffers (saved in checkpoints): ``buffer`` (feat_dim×queue_len, columns
    L2-normalised, random at start like MoCo), ``ptr`` and ``fill`` (0-d long).

    Args:
        feat_dim (int): Key dimension C.
        queue_len (int): Number of keys L.
    """

    def __init__(self, feat_dim: int, queue_len: int) -> None:
        super().__init__()
        if feat_dim <= 0 or queue_len <= 0:
            raise ValueError('PixelQueue: feat_dim and queue_len must be > 0, '
                             f'got {feat_dim}, {queue_len}')
        self.feat_dim = feat_dim
        self.queue_len = queue_len
        self.register_buffer(
            'buffer', F.normalize(torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('fill', torch.zeros((), dtype=torch.long))

    @staticmethod
    @torch.no_grad()
    def gather(keys: torch.Tensor) -> torch.Tensor:
        """Concatenate variable-size key sets of all ranks (rank order).

        Args:
            keys (Tensor): m×C keys of this rank (m may differ per rank).

        Returns:
            Tensor: (Σm)×C keys of all ranks; ``keys`` itself when not
            distributed.
        """
        if get_world_size() == 1:
            return keys
        count = torch.full((1, ), keys.shape[0], device=keys.device)
        # The one host synchronisation of a distributed enqueue.
        counts = torch.cat(all_gather(count)).tolist()
        max_count = max(counts)
        padded = keys.new_zeros((max_count, keys.shape[1]))
        padded[:keys.shape[0]] = keys
        gathered = all_gather(padded)
        return torch.cat([g[:c] for g, c in zip(gathered, counts)], dim=0)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, gather: bool = True) -> int:
        """Add keys (oldest entries are replaced).

        Args:
            keys (Tensor): m×C L2-normalised keys (m ≥ 0) of this rank.
            gather (bool): Gather the keys of all ranks first (every rank
                must then call ``enqueue``). Defaults to True.

        Returns:
            int: Number of keys written (over all ranks).
        """
        if keys.dim() != 2 or keys.shape[1] != self.feat_dim:
            raise ValueError(f'PixelQueue.enqueue: keys must be m×'
                             f'{self.feat_dim}, got {tuple(keys.shape)}')
        keys = keys.detach()
        if gather:
            keys = self.gather(keys)
        num = keys.shape[0]
        if num == 0:
            return 0
        # ptr and fill stay on the device: no host synchronisation here.
        ptr = self.ptr
        if num > self.queue_len:  # only the newest queue_len keys survive
            skip = num - self.queue_len
            keys = keys[skip:]
            ptr = (ptr + skip) % self.queue_len
        idx = (ptr + torch.arange(keys.shape[0], device=keys.device)
               ) % self.queue_len
        self.buffer[:, idx] = keys.t().to(self.buffer.dtype)
        self.ptr.copy_((self.ptr + num) % self.queue_len)
        self.fill.copy_((self.fill + num).clamp(max=self.queue_len))
        return num

    def extra_repr(self) -> str:
        return f'feat_dim={self.feat_dim}, queue_len={self.queue_len}'
