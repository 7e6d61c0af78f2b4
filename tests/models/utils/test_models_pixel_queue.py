"""PixelQueue: pointer, wrap-around, variable counts, DDP gather."""
import pytest
import torch
import torch.nn.functional as F

from pico_mm.models.utils import PixelQueue, pixel_queue
from pico_gloo_workers import run_gloo_workers


def _keys(n, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, c, generator=g), dim=1)


def _reference(queue_len, batches, init):
    """Write keys one at a time (the obvious FIFO)."""
    buf = init.clone()
    ptr = 0
    for keys in batches:
        for key in keys:
            buf[:, ptr] = key
            ptr = (ptr + 1) % queue_len
    return buf, ptr


def test_init_normalised_and_empty():
    q = PixelQueue(4, 8)
    assert q.buffer.shape == (4, 8)
    assert torch.allclose(q.buffer.norm(dim=0), torch.ones(8), atol=1e-6)
    assert int(q.ptr) == 0 and int(q.fill) == 0


@pytest.mark.parametrize('counts', [(3, 7), (8, 8, 1), (20, ), (0, 5, 0, 13),
                                    (5, 3, 11, 2)])
def test_enqueue_matches_sequential_fifo(counts):
    q = PixelQueue(4, 8)
    init = q.buffer.clone()
    batches = [_keys(n, seed=i) for i, n in enumerate(counts)]
    fill = 0
    for keys in batches:
        written = q.enqueue(keys)
        assert written == keys.shape[0]
        fill = min(fill + keys.shape[0], 8)
        assert int(q.fill) == fill
    ref, ptr = _reference(8, batches, init)
    assert int(q.ptr) == ptr == sum(counts) % 8
    assert torch.equal(q.buffer, ref)


def test_enqueue_rejects_wrong_dim():
    q = PixelQueue(4, 8)
    with pytest.raises(ValueError, match='m×4'):
        q.enqueue(torch.zeros(3, 5))


def test_state_dict_keys():
    q = PixelQueue(4, 8)
    assert set(q.state_dict()) == {'buffer', 'ptr', 'fill'}



_WORKER = """
import importlib.util, os, sys, torch, torch.nn.functional as F
rank, world, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
counts = [int(c) for c in sys.argv[4].split(',')]
# Load the module file alone (mmengine only): importing pico_mm would pull
# in mmselfsup/mmcls and make the two workers slow to start.
spec = importlib.util.spec_from_file_location('pixel_queue', sys.argv[5])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
PixelQueue = module.PixelQueue
torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
torch.set_num_threads(1)
torch.manual_seed(0)  # same initial buffer on every rank
q = PixelQueue(4, 16)
g = torch.Generator().manual_seed(100 + rank)
q.enqueue(F.normalize(torch.randn(counts[rank], 4, generator=g), dim=1))
torch.save({'buffer': q.buffer, 'ptr': int(q.ptr), 'fill': int(q.fill)},
           os.path.join(out, f'{rank}.pth'))
torch.distributed.destroy_process_group()
"""


def test_enqueue_gathers_variable_counts_across_ranks(tmp_path):
    counts = (3, 0)  # ranks may have different (even zero) valid keys
    run_gloo_workers(tmp_path, _WORKER,
                     [','.join(map(str, counts)), pixel_queue.__file__])
    torch.manual_seed(0)
    ref = PixelQueue(4, 16)
    ref.enqueue(torch.cat([_keys(n, seed=100 + r)
                           for r, n in enumerate(counts)]))
    for rank in range(2):
        got = torch.load(tmp_path / f'{rank}.pth')
        assert got['ptr'] == 3 and got['fill'] == 3
        assert torch.equal(got['buffer'], ref.buffer)
