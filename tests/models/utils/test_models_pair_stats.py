"""global_mean_count: DDP loss normalisation by the global pair count."""
import torch
import torch.nn.functional as F

from pico_mm.models.losses import PixelInfoNCELoss
from pico_gloo_workers import run_gloo_workers
from pico_mm.models.utils import global_mean_count, pair_stats


def test_single_process_is_the_local_count():
    assert global_mean_count(37, torch.device('cpu')) == 37.0


def test_infonce_avg_factor_divides_the_sum():
    g = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(5, 4, generator=g), dim=1)
    k = F.normalize(torch.randn(5, 4, generator=g), dim=1)
    queue = F.normalize(torch.randn(4, 9, generator=g), dim=0)
    loss = PixelInfoNCELoss()
    mean = loss(q, k, queue)
    torch.testing.assert_close(loss(q, k, queue, avg_factor=10.0),
                               mean * 5 / 10)



# Each rank: its own number of pairs; per-pair losses are a fixed function
# of q so the gradient per row is known; the loss is divided by
# global_mean_count and the gradient averaged over ranks as DDP does.
_WORKER = """
import importlib.util, os, sys, torch
rank, world, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
counts = [int(c) for c in sys.argv[4].split(',')]
spec = importlib.util.spec_from_file_location('pair_stats', sys.argv[5])
module = importlib.util.module_from_spec(spec)  # mmengine only: fast start
spec.loader.exec_module(module)
torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
torch.set_num_threads(1)
g = torch.Generator().manual_seed(100 + rank)
q = torch.randn(counts[rank], 3, generator=g).requires_grad_(True)
per_pair = (q * q).sum(1)  # any per-pair loss
loss = per_pair.sum() / module.global_mean_count(counts[rank], q.device)
loss.backward()
grad = q.grad.clone()
torch.distributed.all_reduce(loss)  # what DDP reports / averages
torch.save({'grad': grad / world, 'loss': loss.item() / world},
           os.path.join(out, f'{rank}.pth'))
torch.distributed.destroy_process_group()
"""


def test_every_pair_weighs_the_same_across_ranks(tmp_path):
    """Rank 0 has 2 pairs, rank 1 has 30: each pair's gradient must be that
    of the mean over all 32 pairs (dividing by the local count would give
    rank 0's pairs 15x the weight of rank 1's)."""
    counts = (2, 30)
    run_gloo_workers(tmp_path, _WORKER,
                     [','.join(map(str, counts)), pair_stats.__file__])
    qs = [torch.randn(n, 3, generator=torch.Generator().manual_seed(100 + r))
          for r, n in enumerate(counts)]
    q_all = torch.cat(qs).requires_grad_(True)
    ref = (q_all * q_all).sum(1).mean()
    ref.backward()
    ref_grads = q_all.grad.split(list(counts))
    for rank in range(2):
        got = torch.load(tmp_path / f'{rank}.pth')
        torch.testing.assert_close(got['grad'], ref_grads[rank])
        assert abs(got['loss'] - ref.item()) < 1e-5
