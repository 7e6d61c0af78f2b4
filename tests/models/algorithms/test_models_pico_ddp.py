"""PiCo on two real gloo processes: no hang whatever the pairs, and the key
shuffle only with BatchNorm in the key path."""
import os.path as osp

import torch
from pico_gloo_workers import run_gloo_workers

HELPERS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), '_helpers')

# Valid points of the two samples of each rank at each iteration: rank 0
# has no pair at iterations 1 and 3 (and no valid point at all), both ranks
# have none at iteration 4 (nothing enqueued anywhere).
PLAN = {
    0: [(20, 13), (0, 0), (5, 7), (0, 0), (0, 0)],
    1: [(9, 4), (11, 2), (3, 3), (6, 0), (0, 0)],
}
BN_HEAD = dict(type='DenseProjectionHead', in_channels=16, hid_channels=64,
               out_channels=16, norm_cfg=dict(type='BN'))

_WORKER = """
import datetime, os, sys, torch
rank, world, out, helpers, mode = (int(sys.argv[1]), int(sys.argv[2]),
                                   sys.argv[3], sys.argv[4], sys.argv[5])
plan, bn_head = eval(sys.argv[6]), eval(sys.argv[7])
sys.path.insert(0, helpers)
# A short gloo timeout: a collective that one process skipped fails fast.
torch.distributed.init_process_group(
    'gloo', rank=rank, world_size=world,
    timeout=datetime.timedelta(seconds=60))
from mmengine.model import MMDistributedDataParallel
from pico_host_syncs import count_host_syncs
from pico_tiny_model import build_tiny, sgd, tiny_batch
print(f'rank {rank}: device cpu (gloo)', file=sys.stderr)

calls = {'all_gather': 0, 'broadcast': 0}
for name in calls:
    def counted(*a, _f=getattr(torch.distributed, name), _n=name, **k):
        calls[_n] += 1
        return _f(*a, **k)
    setattr(torch.distributed, name, counted)
syncs = count_host_syncs(setattr)

def run(model, counts, ddp):
    model.train()
    optim = sgd(model)
    step = (MMDistributedDataParallel(module=model, broadcast_buffers=False,
                                      find_unused_parameters=False)
            if ddp else model)
    for k in calls:
        calls[k] = 0
    logs, step_syncs = [], []
    for it, num_valid in enumerate(counts):
        batch = tiny_batch(seed=10 * it + rank, num_valid=num_valid)
        start = len(syncs)
        log = step.train_step(batch, optim)
        step_syncs += syncs[start:]
        logs.append({k: float(v) for k, v in log.items()})
    return dict(logs=logs, queue=model.queue.buffer.clone(),
                syncs=step_syncs, ptr=int(model.queue.ptr),
                calls=dict(calls),
                params={k: v.detach().clone()
                        for k, v in model.named_parameters()
                        if v.requires_grad})

if mode == 'hang':
    res = {name: run(build_tiny(**kw), plan[rank], ddp=True)
           for name, kw in [('plain', {}), ('bn_head', dict(head=bn_head))]}
else:  # shuffle rule: same data, all pairs (max_pairs=0: no random subset)
    # DDP keeps the key encoders equal on both ranks (each encodes the
    # other's images when shuffled), as in real training.
    counts = [(20, 13), (7, 24), (3, 11)]
    res = {name: run(build_tiny(max_pairs=0, **kw), counts, ddp=True)
           for name, kw in [('auto', {}), ('forced', dict(shuffle_keys=True)),
                            ('bn_head', dict(head=bn_head))]}
torch.save(res, os.path.join(out, f'{rank}.pth'))
torch.distributed.destroy_process_group()
"""


def _run(tmp_path, mode):
    run_gloo_workers(tmp_path, _WORKER,
                     [HELPERS, mode, repr(PLAN), repr(BN_HEAD)],
                     timeout=400)
    return [torch.load(tmp_path / f'{r}.pth') for r in range(2)]


def test_rank_without_pairs_does_not_hang(tmp_path):
    """DDP (find_unused_parameters=False), 5 iterations with queue updates,
    rank 0 without pairs at 2 of them, both ranks at one: every iteration
    finishes on both ranks (a skipped collective would stop them at the
    60 s gloo timeout or the 400 s test timeout), with the same queue and
    the same parameters on both."""
    res = _run(tmp_path, 'hang')
    max_pairs = 40
    expected_ptr = sum(min(max_pairs, sum(PLAN[r][it]))
                       for r in range(2) for it in range(5)) % 256
    for name in ('plain', 'bn_head'):
        r0, r1 = res[0][name], res[1][name]
        assert r0['ptr'] == r1['ptr'] == expected_ptr, name
        assert torch.equal(r0['queue'], r1['queue']), name
        for k, v in r0['params'].items():
            torch.testing.assert_close(v, r1['params'][k], msg=k)
        for rank, r in enumerate((r0, r1)):
            for it, log in enumerate(r['logs']):
                pairs = min(max_pairs, sum(PLAN[rank][it]))
                assert log['num_pairs'] == pairs
                if pairs == 0:
                    assert log['loss'] == 0.0, (name, rank, it)
                else:
                    assert torch.isfinite(torch.tensor(log['loss']))
                    assert log['loss'] > 0, (name, rank, it)


def test_key_shuffle_only_with_batchnorm_in_the_key_path(tmp_path):
    """No BN in the key path: the automatic rule does not shuffle, and
    forcing the shuffle gives the same losses, queue and parameters (so it
    protected nothing). BN in the head: the keys are shuffled."""
    res = _run(tmp_path, 'shuffle')
    iters = 3
    for rank in range(2):
        auto, forced, bn = (res[rank][k] for k in ('auto', 'forced',
                                                   'bn_head'))
        # the queue's count and key all-gathers only, no broadcast
        assert auto['calls'] == {'all_gather': 2 * iters, 'broadcast': 0}
        # + the images, points, valid masks and the keys back
        assert forced['calls'] == {'all_gather': 6 * iters,
                                   'broadcast': iters}
        assert bn['calls'] == forced['calls']
        # host syncs per DDP step: the pair count, the queue's key counts,
        # the logged values
        assert [n for n, _ in auto['syncs']] == [
            'nonzero', 'tolist', 'cpu'] * iters, auto['syncs']
        assert [w.split()[-1] for _, w in auto['syncs'][:3]] == [
            'select_pairs', 'gather', 'parse_losses']
        for a, f in zip(auto['logs'], forced['logs']):
            assert abs(a['loss'] - f['loss']) <= 1e-5 * abs(a['loss'])
            assert a['num_pairs'] == f['num_pairs']
        torch.testing.assert_close(auto['queue'], forced['queue'],
                                   atol=1e-6, rtol=1e-5)
        for k, v in auto['params'].items():
            torch.testing.assert_close(v, forced['params'][k], msg=k)
    torch.testing.assert_close(res[0]['auto']['queue'],
                               res[1]['auto']['queue'])
