#!/usr/bin/env python
"""End-to-end PiCo demo on CPU: videos → flow → tracks → training → probe → pictures.

With no arguments it renders a small deterministic synthetic video set (textured
scenes, camera and object motion, occlusions; nothing is downloaded), then runs the
real pipeline with the project's own tools:

1. videos        synthetic set (or ``--videos DIR`` of your clips; a few held out)
2. flow          ``tools/data/extract_flow.py --backend dis`` (OpenCV DIS, CPU)
3. tracks        ``tools/data/track_points.py`` (forward-backward consistent tracks)
4. anchors       statistics of PiCo's top-K anchor sampling on the training videos
5. training      ``tools/train.py`` with the tiny CPU config, three runs from the
                 same initial network and budget: Static(Frame), Static(Video), PiCo
6. export        ``tools/model_converters/pico2mm.py --target mmseg``
7. probe         B5 correspondence probe on the held-out videos' tracks
8. pictures      tracks GIF, augmented view pair, PCA-RGB before/after, curves

Examples::

    python tools/demo.py                              # work_dirs/demo, ~minutes
    python tools/demo.py --videos ~/clips --work-dir work_dirs/my_demo
    python tools/demo.py --quick                      # reduced mode (tests)

Every output lands under ``--work-dir``; finished flow/track files are reused when
the demo is run again (training always reruns).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
RUNS = (('Static(Frame)', 'static_frame'), ('Static(Video)', 'static_video'),
        ('PiCo', 'anchor'))
FULL = dict(train=4, val=2, frames=90, height=112, width=144, points=3000,
            iters=60, batch=8, probe_every=20, k=4)
QUICK = dict(train=2, val=1, frames=24, height=64, width=80, points=400,
             iters=4, batch=2, probe_every=2, k=2)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='End-to-end PiCo demo on CPU (synthetic or your videos): '
        'flow, tracks, training of PiCo and the two static baselines, export, '
        'correspondence probe table and pictures.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/demo', help='all outputs go here')
    p.add_argument('--videos', default=None,
                   help='folder of your own videos (mp4/avi/webm/mkv, searched '
                   'recursively) instead of the synthetic set; the last ~20%% '
                   '(at least one) are held out for the probe')
    p.add_argument('--quick', action='store_true',
                   help='reduced mode: tiny videos and a few iterations (tests)')
    p.add_argument('--config', default=DEFAULT_CONFIG, help='base training config')
    p.add_argument('--iters', type=int, default=None, help='training iterations per run')
    p.add_argument('--batch-size', type=int, default=None, help='training batch size')
    p.add_argument('--short-side', type=int, default=None,
                   help='resize videos to this short side (default: synthetic '
                   'size, or 128 for --videos)')
    p.add_argument('--points', type=int, default=None, help='tracked points per video')
    p.add_argument('--seed', type=int, default=0, help='seed of videos, init and training')
    p.add_argument('--threads', type=int, default=2, help='CPU threads per stage')
    args = p.parse_args(argv)
    preset = dict(QUICK if args.quick else FULL)
    for key, val in (('iters', args.iters), ('batch', args.batch_size),
                     ('points', args.points)):
        if val is not None:
            preset[key] = val
    if preset['iters'] < 1 or preset['batch'] < 1 or preset['points'] < 1:
        p.error('--iters, --batch-size and --points must be >= 1')
    if not osp.isfile(args.config):
        p.exit(2, f'error: config {args.config} not found; pass --config with a '
               'PiCo training config (configs/pico/...)\n')
    if args.videos:
        check_videos_dir(p, args.videos)
    if args.short_side is None:
        args.short_side = 128 if args.videos else min(preset['height'],
                                                      preset['width'])
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
    from pico_mm.demo.synthetic import SceneConfig, make_video_set
    root = osp.join(ws, 'videos')
    cfg = SceneConfig(height=pre['height'], width=pre['width'],
                      num_frames=pre['frames'])
    t0 = time.time()
    tr_list, va_list = make_video_set(root, pre['train'], pre['val'], args.seed,
                                      cfg, progress=True)
    train = [ln.split()[0] for ln in open(tr_list) if ln.strip()]
    val = [ln.split()[0] for ln in open(va_list) if ln.strip()]
    summary(f'{len(train)} training + {len(val)} held-out synthetic videos, '
            f'{pre["frames"]} frames {pre["height"]}x{pre["width"]} at 30 fps, '
            f'in {root} ({time.time() - t0:.1f} s)')
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

    stage(1, 'videos')
    video_root, train, val = stage_videos(args, ws)
    lists = write_lists(ws, train, val)

    stage(2, 'optical flow (OpenCV DIS)')
    flow_dir = osp.join(ws, 'flow')
    secs = st.run_tool(st.python_cmd(
        tool('data', 'extract_flow.py'), video_root, flow_dir, '--backend', 'dis',
        '--fps', 30, '--short-side', args.short_side, '--threads', args.threads),
        'extract_flow')
    flows = outputs_for(flow_dir, train + val, '.zip', 'extract_flow')
    summary(f'{len(flows)} flow stores in {flow_dir} ({secs:.1f} s)')

    stage(3, 'point tracks')
    track_dir = osp.join(ws, 'tracks')
    secs = st.run_tool(st.python_cmd(
        tool('data', 'track_points.py'), flow_dir, track_dir, '--points',
        pre['points'], '--seed', args.seed), 'track_points', env=dict(OMP_NUM_THREADS=str(args.threads)))
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

    stage(5, 'training: Static(Frame), Static(Video), PiCo (same init and budget)')
    from mmengine.runner import set_random_seed
    cfg_dir = osp.join(ws, 'configs')
    common = dict(
        train_dataloader=dict(
            batch_size=pre['batch'], num_workers=0, persistent_workers=False,
            dataset=dict(ann_file=lists['train'], data_root='',
                         data_prefix=dict(video=video_root, tracks=track_dir),
                         k=pre['k'])),
        # No loop `type`: mmselfsup 1.0.0 declares its LOOPS registry at the
        # missing module mmselfsup.engine.runner, so LOOPS.build fails; without
        # a type, mmengine builds its IterBasedTrainLoop directly.
        train_cfg=dict(_delete_=True, by_epoch=False, max_iters=pre['iters']),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=pre['iters'],
                            by_epoch=False, max_keep_ckpts=1)),
        log_processor=dict(by_epoch=False, window_size=1),
        custom_hooks=[dict(type='CorrespondenceProbeHook', tracks=val_tracks,
                           interval=pre['probe_every'], source_root=video_root,
                           pairs_per_video=4, points_per_pair=256,
                           seed=args.seed)],
        randomness=dict(seed=args.seed),
    )
    init_cfg = st.write_config(osp.join(cfg_dir, 'init.py'), args.config, common)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('pico_demo', log_level='WARNING')  # quiet init logs
    set_random_seed(args.seed)
    model = st.build_model(init_cfg)
    model.init_weights()
    init_ckpt = st.save_weights(model, osp.join(ws, 'init.pth'), seed=args.seed)
    ckpts, work_dirs, cfgs = {}, {}, {}
    for name, sampler in RUNS:
        slug = sampler.replace('anchor', 'pico')
        run_dir = osp.join(ws, 'train', slug)
        over = dict(common, work_dir=run_dir, load_from=init_ckpt)
        over['train_dataloader'] = dict(
            common['train_dataloader'],
            dataset=dict(common['train_dataloader']['dataset'],
                         frame_sampler=sampler))
        cfgs[name] = st.write_config(osp.join(cfg_dir, f'{slug}.py'), args.config,
                                     over)
        os.makedirs(run_dir, exist_ok=True)
        secs = st.run_tool(st.python_cmd(tool('train.py'), cfgs[name]),
                           f'train {name}', log_path=osp.join(run_dir, 'train.log'),
                           train_progress=True,
                           env=dict(OMP_NUM_THREADS=str(args.threads)))
        ckpts[name] = st.last_checkpoint(run_dir)
        work_dirs[name] = run_dir
        summary(f'{name}: {pre["iters"]} iterations in {secs:.0f} s, checkpoint '
                f'{ckpts[name]}')

    stage(6, 'export for MMSeg/MMDet')
    export_main = st.tool_entry(tool('model_converters', 'pico2mm.py'))
    exports = {}
    from tqdm import tqdm
    for name, _ in tqdm(RUNS, desc='export', unit='model'):
        out = osp.join(ws, 'export', osp.basename(work_dirs[name]) + '_mmseg.pth')
        if export_main([ckpts[name], out, '--target', 'mmseg']) != 0:
            raise st.DemoError(f'export {name} failed: tools/model_converters/'
                               f'pico2mm.py {ckpts[name]} {out} --target mmseg')
        exports[name] = out
    summary(f'{len(exports)} checkpoints exported for MMSeg (keys verified) in '
            f'{osp.join(ws, "export")}')

    stage(7, 'correspondence probe (B5) on held-out videos')
    from pico_mm.engine.hooks.correspondence_probe_hook import evaluate_model
    from pico_mm.evaluation import probe_pairs_from_tracks
    pairs = probe_pairs_from_tracks(val_tracks, pairs_per_video=4,
                                    points_per_pair=256, seed=args.seed,
                                    source_root=video_root)
    results, feats = {}, {}
    pca_frames = [pairs[0].frame_a, pairs[len(pairs) // 2].frame_b,
                  pairs[-1].frame_b] if pairs else []
    for name, ckpt in tqdm([('init', init_ckpt)] + [(n, ckpts[n]) for n, _ in RUNS],
                           desc='probe', unit='model'):
        st.load_weights(model, ckpt)
        results[name] = evaluate_model(model, pairs)
        feats[name] = embed_frames(model, pca_frames)
    table = format_table(results)
    tmp = osp.join(ws, 'probe.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, osp.join(ws, 'probe.json'))
    summary(f'{results["PiCo"]["pairs"]} tracked point pairs in {len(pairs)} frame '
            f'pairs; results in {osp.join(ws, "probe.json")}')

    stage(8, 'pictures')
    pics = make_pictures(args, ws, tool, st, pca_frames, feats, work_dirs,
                         cfgs['PiCo'], val_tracks, video_root)
    print(f'\nCorrespondence probe (B5): nearest neighbour within 1 feature cell, '
          f'{results["PiCo"]["pairs"]} held-out tracked points')
    print(table)
    print('\nPictures:')
    for k, v in pics.items():
        print(f'  {k:<22s} {v}')
    print(f'\ndemo finished in {time.time() - t_start:.0f} s; everything is in {ws}')
    bad = [n for n, r in results.items() if not math.isfinite(r['acc'])]
    return 1 if bad else 0


def embed_frames(model, frames):
    import numpy as np
    import torch
    from pico_mm.engine.hooks.correspondence_probe_hook import model_embed_fn
    if not frames:
        return []
    model.eval()
    with torch.no_grad():
        batch = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
        return list(model_embed_fn(model)(batch))


def format_table(results):
    lines = [f'{"model":<15s} {"accuracy":>9s} {"hits/points":>13s}', '-' * 39]
    for name, r in results.items():
        lines.append(f'{name:<15s} {r["acc"]:9.4f} {r["hits"]:>6d}/{r["pairs"]:<6d}')
    ref = next(iter(results.values()))
    lines.append('-' * 39)
    lines.append(f'{"chance":<15s} {ref["chance"]:9.4f}   (random cell)')
    lines.append(f'{"no motion":<15s} {ref["zero_motion"]:9.4f}   (predict the '
                 'same position: what position-only features score)')
    return '\n'.join(lines)


def make_pictures(args, ws, tool, st, frames, feats, work_dirs, pico_cfg,
                  val_tracks, video_root):
    from pico_mm.demo.pictures import find_scalars, save_curves, save_pca_figure
    pic_dir = osp.join(ws, 'pictures')
    os.makedirs(pic_dir, exist_ok=True)
    pics = {}
    gif = osp.join(pic_dir, 'tracks.gif')
    try:
        st.run_tool(st.python_cmd(tool('vis', 'show_tracks.py'), val_tracks[0],
                                  gif, '--frames', '0:60', '--max-tracks', 150),
                    'show_tracks')
        pics['tracks (GIF)'] = gif
    except st.DemoError as e:
        print(f'warning: {e}')
    views = osp.join(pic_dir, 'views.png')
    try:
        st.run_tool(st.python_cmd(tool('vis', 'show_views.py'), pico_cfg,
                                  '--out', views), 'show_views')
        pics['view pair (PNG)'] = views
    except st.DemoError as e:
        print(f'warning: {e}')
    if frames:
        pics['PCA-RGB (PNG)'] = save_pca_figure(
            osp.join(pic_dir, 'pca_features.png'), frames, feats,
            title='PCA-RGB of the dense embedding, held-out frames')
    runs = {n: find_scalars(d) for n, d in work_dirs.items()}
    runs = {n: p for n, p in runs.items() if p}
    if runs:
        pics['curves (PNG)'] = save_curves(
            osp.join(pic_dir, 'curves.png'), runs, keys=('loss', 'probe/acc'),
            title='training loss and B5 probe accuracy (held-out videos)')
    summary(f'{len(pics)} pictures in {pic_dir}')
    return pics


def cli(argv=None):
    """``main`` with stage failures reported as one error block, no traceback."""
    args = parse_args(argv)  # before any heavy import: bad arguments fail fast
    from pico_mm.demo.stages import DemoError
    try:
        return main(args)
    except DemoError as e:
        print(f'\nerror: {e}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(cli())
