"""Benchmark: one PiCo train step vs one mmselfsup DenseCL train step.

Both models get the same ResNet backbone, the same random two-view input and
an SGD ``OptimWrapper``; the script times ``model.train_step`` (forward,
backward, optimizer step, EMA and queue updates) and prints the ratios
PiCo / DenseCL (goal: <= 1.3x). PiCo is timed with its defaults (frozen
backbone, head on the sampled points), with the projection head run on the
whole stride-4 map, and with ``freeze_backbone=False``.

Example::

    python benchmarks/bench_train_step.py --device cuda --batch-size 32
    python benchmarks/bench_train_step.py --depth 18 --img-size 128 \
        --batch-size 4 --iters 5          # quick CPU run
"""
import argparse
import sys
import time

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--depth', type=int, default=50, help='ResNet depth')
    p.add_argument('--img-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=8, help='per device')
    p.add_argument('--points', type=int, default=256,
                   help='point pairs per sample (all valid)')
    p.add_argument('--max-pairs', type=int, default=4096)
    p.add_argument('--queue-len', type=int, default=65536)
    p.add_argument('--chunk-size', type=int, default=4096)
    p.add_argument('--iters', type=int, default=10, help='timed iterations')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--amp', action='store_true', help='fp16 autocast (cuda)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch CPU threads (0 = torch default)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    return p.parse_args(argv)


def _backbone(depth, out_indices):
    return dict(type='mmselfsup.ResNet', depth=depth, in_channels=3,
                out_indices=out_indices, norm_cfg=dict(type='BN'))


def _width(depth):
    return 2048 if depth >= 50 else 512


def build_densecl(args):
    from mmselfsup.registry import MODELS
    c5 = _width(args.depth)
    return MODELS.build(dict(
        type='mmselfsup.DenseCL', queue_len=args.queue_len, feat_dim=128,
        momentum=0.999, loss_lambda=0.5,
        backbone=_backbone(args.depth, [4]),
        neck=dict(type='mmselfsup.DenseCLNeck', in_channels=c5,
                  hid_channels=2048, out_channels=128, num_grid=None),
        head=dict(type='mmselfsup.ContrastiveHead',
                  loss=dict(type='mmcls.CrossEntropyLoss'),
                  temperature=0.2)))


def build_pico(args, freeze, head_on_points):
    import pico_mm.models  # noqa: F401
    from mmselfsup.registry import MODELS
    c = _width(args.depth)
    in_ch = (c // 8, c // 4, c // 2, c)
    return MODELS.build(dict(
        type='mmselfsup.PiCo', queue_len=args.queue_len, feat_dim=128,
        momentum=0.999, max_pairs=args.max_pairs, freeze_backbone=freeze,
        head_on_points=head_on_points,
        backbone=_backbone(args.depth, (1, 2, 3, 4)),
        neck=dict(type='mmselfsup.PiCoFPNNeck', in_channels=in_ch),
        head=dict(type='mmselfsup.DenseProjectionHead'),
        loss=dict(type='mmselfsup.PixelInfoNCELoss', temperature=0.2,
                  chunk_size=args.chunk_size)))


def make_batch(args, seed=0):
    from mmselfsup.structures import SelfSupDataSample
    g = torch.Generator().manual_seed(seed)
    n, s = args.batch_size, args.img_size
    views = [torch.randint(0, 256, (n, 3, s, s), dtype=torch.uint8,
                           generator=g) for _ in range(2)]
    samples = []
    for _ in range(n):
        ds = SelfSupDataSample()
        pq = torch.rand(args.points, 2, generator=g) * (s - 1)
        ds.set_field(pq, 'points_q')
        ds.set_field((pq + 2).clamp(max=s - 1), 'points_k')
        ds.set_field(torch.ones(args.points, dtype=torch.bool),
                     'points_valid')
        samples.append(ds)
    return dict(inputs=views, data_samples=samples)


def time_model(name, model, args):
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from tqdm import tqdm
    model = model.to(args.device)
    model.init_weights()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.03, momentum=0.9, weight_decay=1e-4)
    wrapper = (AmpOptimWrapper(optimizer=opt) if args.amp else
               OptimWrapper(opt))
    batches = [make_batch(args, seed=i) for i in range(2)]
    sync = (torch.cuda.synchronize if args.device.startswith('cuda') else
            (lambda: None))
    times = []
    for it in tqdm(range(args.warmup + args.iters), desc=name, leave=False):
        sync()
        t0 = time.perf_counter()
        log = model.train_step(batches[it % 2], wrapper)
        sync()
        if it >= args.warmup:
            times.append(time.perf_counter() - t0)
    loss = float(torch.as_tensor(log['loss']).detach())
    mem = (torch.cuda.max_memory_allocated() / 2**30
           if args.device.startswith('cuda') else float('nan'))
    times.sort()
    return times[len(times) // 2], loss, mem


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import mmselfsup  # noqa: F401
    except ImportError as e:
        sys.exit(f'error: {e}; run with the project venv (.venv/bin/python)')
    from mmengine.logging import MMLogger
    MMLogger.get_instance('bench_train_step', log_level='WARNING')
    results = {}
    torch.manual_seed(0)
    runs = [('DenseCL', lambda: build_densecl(args)),
            ('PiCo (frozen backbone)', lambda: build_pico(args, True, True)),
            ('PiCo frozen, dense head', lambda: build_pico(args, True, False)),
            ('PiCo (trained backbone)', lambda: build_pico(args, False, True))]
    for name, build in runs:
        if args.device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        model = build()
        results[name] = time_model(name, model, args)
        del model
        if args.device.startswith('cuda'):
            torch.cuda.empty_cache()
    print(f'ResNet-{args.depth}, {args.img_size}px, batch {args.batch_size}, '
          f'{args.points} pts/sample (max_pairs {args.max_pairs}), queue '
          f'{args.queue_len}, device {args.device}, amp {args.amp}, '
          f'median of {args.iters} iters')
    base = results['DenseCL'][0]
    for name, (sec, loss, mem) in results.items():
        print(f'{name:26s} {sec * 1000:9.1f} ms/iter  ratio '
              f'{sec / base:5.2f}x  loss {loss:7.3f}  peak mem {mem:5.2f} GiB')
    return results


if __name__ == '__main__':
    main()
