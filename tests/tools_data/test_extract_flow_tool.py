"""tools/data/extract_flow.py end to end (subprocess): outputs, corrupt-file skip,
kill + resume byte identity, sharding, list files, errors."""
import glob
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from pico_mm.flow import (StoreFrames, load_frames, load_store_frames, num_frames,
                          read_flow, read_meta)
from pico_launch_sim import launcher_free_env
from pico_mm.flow.frame_store import encode_frame

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'tools', 'data', 'extract_flow.py')


def make_videos(root, n_videos=3, n_frames=12, size=(96, 128), shift=(2, 1)):
    """Videos of a texture panning by `shift` px/frame, plus a corrupt file."""
    rng = np.random.default_rng(0)
    h, w = size
    big = cv2.GaussianBlur(rng.uniform(0, 255, (h + 200, w + 200, 3)).astype(np.float32),
                           (0, 0), 2)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    paths = []
    for v in range(n_videos):
        p = os.path.join(root, f'c{v % 2}', f'vid{v}.avi')
        os.makedirs(os.path.dirname(p), exist_ok=True)
        vw = cv2.VideoWriter(p, cv2.VideoWriter_fourcc(*'MJPG'), 30, (w, h))
        for i in range(n_frames):
            x, y = 10 + v + shift[0] * i, 10 + shift[1] * i
            vw.write(np.ascontiguousarray(big[y:y + h, x:x + w]))
        vw.release()
        paths.append(p)
    with open(os.path.join(root, 'c0', 'broken.mp4'), 'wb') as f:
        f.write(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
    return paths


def run_tool(*args, env=None, **kw):
    e = launcher_free_env(**(env or {}))
    return subprocess.run([sys.executable, TOOL, *map(str, args), '--no-progress',
                           '--threads', '1'], cwd=ROOT, capture_output=True, text=True,
                          env=e, timeout=300, **kw)


def zips(d):
    return sorted(os.path.relpath(p, d) for p in glob.glob(os.path.join(d, '**', '*.zip'),
                                                          recursive=True))


def test_help():
    r = subprocess.run([sys.executable, TOOL, '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--raft-checkpoint' in r.stdout and '--shard' in r.stdout


def test_end_to_end_with_corrupt_file_and_rawframes(tmp_path):
    src = tmp_path / 'videos'
    paths = make_videos(str(src))
    rf = src / 'c1' / 'frames_clip'
    os.makedirs(rf)
    for i, f in enumerate(load_frames(paths[0], fps=None, short_side=None)[:5]):
        cv2.imwrite(str(rf / f'img_{i + 1:05d}.jpg'), f)
    out = tmp_path / 'flow'
    r = run_tool(src, out, '--short-side', 64)
    # 1 of 5 videos is bad: more than --max-failed 5%, so the status says so
    assert r.returncode == 1, r.stderr
    assert zips(str(out)) == ['c0/vid0.zip', 'c0/vid2.zip', 'c1/frames_clip.zip',
                              'c1/vid1.zip']
    assert 'done 4' in r.stdout and 'failed 1' in r.stdout and 'broken' in r.stdout
    assert 'FAILED: 1 of 5 items of this shard failed, more than --max-failed 5%' \
        in r.stdout
    log = open(out / 'extract_flow.shard0of1.log').read()
    assert 'SKIP c0/broken' in log and 'broken.mp4' in log
    listed = open(out / 'extract_flow.shard0of1.failed.txt').read()
    assert listed.startswith('c0/broken\tVideoReadError: ') and listed.count('\n') == 1
    assert 'extract_flow.shard0of1.failed.txt' in r.stdout
    z = str(out / 'c0' / 'vid0.zip')
    meta = read_meta(z)
    assert meta['source_kind'] == 'video' and meta['backend'] == 'dis'
    assert meta['height'] == 64 and meta['width'] == 85 and meta['short_side'] == 64
    assert num_frames(z) == 12 == len(load_frames(meta['source'], fps=30, short_side=64))
    fwd, bwd = read_flow(z, 4)
    s = 64 / 96  # the crop window pans (+2, +1) px/frame at 96 px: content moves
    core = (slice(8, -8), slice(8, -8))  # by (-2, -1), scaled to 64 px
    np.testing.assert_allclose(np.median(fwd[core].reshape(-1, 2), 0), [-2 * s, -s],
                               atol=0.2)
    np.testing.assert_allclose(np.median(bwd[core].reshape(-1, 2), 0), [2 * s, s],
                               atol=0.2)
    assert read_meta(str(out / 'c1' / 'frames_clip.zip'))['source_kind'] == 'rawframes'
    assert meta['source_rel_path'] == os.path.join('c0', 'vid0.avi')
    frames = load_frames(meta['source'], [3], fps=30, short_side=64)
    # the store keeps the frames (JPEG q90 by default) the flow was computed on
    assert meta['frames']['quality'] == 90 and meta['frames']['count'] == 12
    kept = load_store_frames(z, [3])
    assert np.array_equal(kept[0], encode_frame(frames[0], 90)[1])
    os.rename(src, tmp_path / 'moved')
    again = load_store_frames(z, [3], source_root=str(tmp_path / 'moved'),
                              from_store=False)
    assert np.array_equal(frames[0], again[0])
    assert np.array_equal(load_store_frames(z, [3])[0], kept[0])  # no source needed
    os.rename(tmp_path / 'moved', src)
    assert num_frames(str(out / 'c1' / 'frames_clip.zip')) == 5
    # second run: everything finished is skipped, the corrupt file retried and logged
    r2 = run_tool(src, out, '--short-side', 64, '--max-failed', '20%')
    assert 'skipped (already done) 4' in r2.stdout and 'failed 1' in r2.stdout
    assert r2.returncode == 0  # 1 of 5 is not more than 20%


def test_kill_and_resume_is_byte_identical(tmp_path):
    src = tmp_path / 'videos'
    make_videos(str(src), n_videos=4, n_frames=40, size=(120, 160))
    args = ['--short-side', 120, '--dis-preset', 'medium', '--batch-size', 4,
            '--max-failed', '20%']  # the corrupt file is 1 of 5
    clean = tmp_path / 'clean'
    assert run_tool(src, clean, *args).returncode == 0
    out = tmp_path / 'killed'
    e = launcher_free_env()
    proc = subprocess.Popen([sys.executable, TOOL, str(src), str(out), *map(str, args),
                             '--no-progress', '--threads', '1'], cwd=ROOT, env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_mid_item = False
    t0 = time.time()
    while proc.poll() is None and time.time() - t0 < 120:
        temps = glob.glob(str(out / '**' / '.*.tmp*'), recursive=True)
        if temps and len(zips(str(out))) >= 1:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_mid_item = True
            break
        time.sleep(0.002)
    assert killed_mid_item, 'extraction finished before it could be killed'
    partial = zips(str(out))
    assert 1 <= len(partial) < 4
    temps = glob.glob(str(out / '**' / '.*.tmp*'), recursive=True)
    assert temps  # the half-written store is a temp file ...
    for t in temps:  # ... that no reader takes for a store
        with pytest.raises(ValueError, match='not a complete flow store'):
            StoreFrames(t)
    for name in partial:  # every final store is complete, frames and all
        with StoreFrames(str(out / name)) as s:
            assert s.has_frames and len(s.read_many(range(s.num_frames))) == 40
    r = run_tool(src, out, *args)
    assert r.returncode == 0 and f'skipped (already done) {len(partial)}' in r.stdout
    assert zips(str(out)) == zips(str(clean))
    for name in zips(str(clean)):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
    assert read_meta(str(clean / zips(str(clean))[0]))['frames']['count'] == 40
    assert not glob.glob(str(out / '**' / '.*.tmp*'), recursive=True)


def test_shards_and_list_file(tmp_path):
    src = tmp_path / 'videos'
    make_videos(str(src), n_videos=3, n_frames=4)
    lst = tmp_path / 'train_list_videos.txt'
    lst.write_text('c0/vid0.avi 0\nc1/vid1.avi 1\nc0/vid2.avi 0\nc0/missing.avi 3\n')
    out = tmp_path / 'flow'
    r0 = run_tool(lst, out, '--data-root', src, '--short-side', 32, '--shard', 0,
                  '--num-shards', 2, '--max-failed', '50%')
    assert r0.returncode == 0, r0.stderr  # 1 missing of 2: not more than 50%
    # sorted names: c0/missing, c0/vid0, c0/vid2, c1/vid1 -> shard 0 = missing, vid2
    assert zips(str(out)) == ['c0/vid2.zip'] and 'missing.avi' in r0.stdout
    r1 = run_tool(lst, out, '--data-root', src, '--short-side', 32,
                  env={'RANK': '1', 'WORLD_SIZE': '2'})
    assert 'shard 1 of 2' in r1.stdout
    assert zips(str(out)) == ['c0/vid0.zip', 'c0/vid2.zip', 'c1/vid1.zip']
    assert os.path.isfile(out / 'extract_flow.shard1of2.log')


def test_shots_mode(tmp_path):
    """Two 1.5 s shots at 20 Hz -> 1 s snippets: [0,20) and the 10-frame
    remainders are kept (>= --min-snippet-seconds 0.5)."""
    rng = np.random.default_rng(1)
    os.makedirs(tmp_path / 'yt')
    p = str(tmp_path / 'yt' / 'long.avi')
    vw = cv2.VideoWriter(p, cv2.VideoWriter_fourcc(*'MJPG'), 20, (80, 60))
    for shot, tint in enumerate([(0.2, 0.5, 1.0), (1.0, 0.5, 0.1)]):
        tex = cv2.GaussianBlur(rng.uniform(0, 255, (120, 160, 3)).astype(np.float32),
                               (0, 0), 3)
        tex = np.clip(cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX) * tint, 0, 255)
        for i in range(30):
            vw.write(np.ascontiguousarray(tex[i:i + 60, i:i + 80].astype(np.uint8)))
    vw.release()
    out = tmp_path / 'flow'
    r = run_tool(tmp_path / 'yt', out, '--shots', '--fps', 20, '--short-side', 0,
                 '--snippet-seconds', 1, '--min-snippet-seconds', 0.5)
    assert r.returncode == 0, r.stderr
    assert zips(str(out)) == ['long/snippet_000000.zip', 'long/snippet_000020.zip',
                              'long/snippet_000030.zip', 'long/snippet_000050.zip']
    man = json.load(open(out / 'long' / 'snippets.json'))
    assert man['shots'] == [[0, 29], [30, 59]] and man['detector'] == 'histogram'
    m = read_meta(str(out / 'long' / 'snippet_000030.zip'))
    assert m['frame_offset'] == 30 and m['num_frames'] == 20
    r2 = run_tool(tmp_path / 'yt', out, '--shots', '--fps', 20, '--short-side', 0,
                  '--snippet-seconds', 1, '--min-snippet-seconds', 0.5)
    assert 'skipped (already done) 1' in r2.stdout


def test_no_frames_keeps_the_old_store_layout(tmp_path):
    src = tmp_path / 'videos'
    make_videos(str(src), n_videos=1, n_frames=6)
    out = tmp_path / 'flow'
    r = run_tool(src, out, '--short-side', 48, '--no-frames', '--max-failed', '50%')
    assert r.returncode == 0, r.stderr
    z = str(out / 'c0' / 'vid0.zip')
    assert 'frames' not in read_meta(z)
    with StoreFrames(z) as s:
        assert not s.has_frames
    # flow of a store without frames is computed on the source frames, so
    # load_store_frames decodes the video
    got = load_store_frames(z, [2])[0]
    assert np.array_equal(got, load_frames(read_meta(z)['source'], [2], fps=30,
                                           short_side=48)[0])


@pytest.mark.parametrize('args,msg', [
    (['NOPE', 'OUT'], 'NOPE: input not found'),
    (['.', 'OUT', '--quality', '0'], '--quality'),
    (['.', 'OUT', '--frame-quality', '101'], '--frame-quality must be in 1..100'),
    (['.', 'OUT', '--backend', 'raft', '--device', 'cpu'], '--raft-checkpoint'),
    (['.', 'OUT', '--backend', 'raft', '--device', 'cpu', '--raft-checkpoint',
      'no.pth'], 'no.pth'),
    (['.', 'OUT', '--device', 'cuda'], 'DIS is a CPU method'),
    (['.', 'OUT', '--shard', '0', '--num-shards', '1'], 'contradicts the launch'),
])
def test_bad_arguments_give_one_clear_line(tmp_path, args, msg):
    args = [str(tmp_path / a) if a in ('NOPE', 'OUT') else a for a in args]
    if args[0] == '.':
        make_videos(str(tmp_path / 'v'), n_videos=1, n_frames=2)
        args[0] = str(tmp_path / 'v')
    r = run_tool(*args, env=dict(SLURM_JOB_ID='7', SLURM_STEP_ID='0',
                                 SLURM_PROCID='1', SLURM_STEP_NUM_TASKS='2',
                                 SLURM_NTASKS='2')
                 if 'contradicts the launch' in msg else None)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith('error')]
    assert len(lines) == 1 and msg in lines[0], r.stderr


def test_clipped_fraction_reported_and_warned(tmp_path):
    """A 2 px/frame pan stored with --bound 1 clips most values: each video's
    clipped fraction is logged and the run warns, naming the videos; at the
    default bound nothing is clipped and nothing is warned."""
    vids = tmp_path / 'vids'
    make_videos(str(vids), n_videos=2, n_frames=5)
    os.remove(vids / 'c0' / 'broken.mp4')
    res = run_tool(vids, tmp_path / 'tight', '--bound', '1', '--no-frames')
    assert res.returncode == 0, res.stderr
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith('WARNING')]
    assert len(warn) == 1 and '2 video(s)' in warn[0] and 'c0/vid0' in warn[0]
    assert '±1 px' in warn[0] and '--bound' in warn[0]
    for name in ('c0/vid0', 'c1/vid1'):
        assert read_meta(str(tmp_path / 'tight' / (name + '.zip')))[
            'clip_fraction'] > 0.3
    log = open(glob.glob(str(tmp_path / 'tight' / '*.log'))[0]).read()
    assert log.count('WARNING') == 2
    ok = run_tool(vids, tmp_path / 'loose', '--no-frames')
    assert ok.returncode == 0 and 'WARNING' not in ok.stderr
