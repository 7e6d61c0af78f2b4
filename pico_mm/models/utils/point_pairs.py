"""Point pairs of a batch: stacking them and choosing those of the loss."""
from typing import Sequence, Tuple

import torch
from torch.nn.utils.rnn import pad_sequence


def collect_points(data_samples: Sequence, device: torch.device
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack the samples' ``points_q``/``points_k``/``points_valid``.

    Args:
        data_samples (Sequence[SelfSupDataSample]): with ``points_q``,
            ``points_k`` (P×2 pixel coordinates) and ``points_valid`` (P
            bool), as ``PackPiCoInputs`` makes them.
        device (torch.device): Where the result goes (non-blocking copy
            when the points are not there yet).

    Returns:
        tuple[Tensor, Tensor, Tensor]: N×P×2 float32 query and key points
        and the N×P bool validity, padded to the largest P with invalid rows.

    Raises:
        KeyError: a sample lacks one of the fields (names the fix).
    """
    try:
        pq = [ds.points_q for ds in data_samples]
        pk = [ds.points_k for ds in data_samples]
        pv = [ds.points_valid for ds in data_samples]
    except AttributeError as e:
        raise KeyError('PiCo needs data samples with points_q, points_k and '
                       'points_valid (use PackPiCoInputs in the pipeline): '
                       f'{e}') from None
    pq = pad_sequence([torch.as_tensor(p, dtype=torch.float32) for p in pq],
                      batch_first=True)
    pk = pad_sequence([torch.as_tensor(p, dtype=torch.float32) for p in pk],
                      batch_first=True)
    pv = pad_sequence([torch.as_tensor(v, dtype=torch.bool) for v in pv],
                      batch_first=True)
    return tuple(t.to(device, non_blocking=True) for t in (pq, pk, pv))


def select_pairs(valid: torch.Tensor, max_pairs: int) -> torch.Tensor:
    """Flat indices (into N·P) of at most ``max_pairs`` valid pairs.

    The ``nonzero`` waits for the device (the number of pairs sizes every
    tensor of the loss): the one host synchronisation of a PiCo step.

    Args:
        valid (Tensor): N×P bool.
        max_pairs (int): Keep a uniformly random subset of this many when
            there are more; ``<= 0`` keeps all.

    Returns:
        Tensor: M long indices, M = min(valid pairs, max_pairs).
    """
    idx = valid.flatten().nonzero().squeeze(1)
    if 0 < max_pairs < idx.numel():
        perm = torch.randperm(idx.numel(), device=idx.device)
        idx = idx[perm[:max_pairs]]
    return idx
