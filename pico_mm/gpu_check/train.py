"""GPU check parts of training and evaluation: 50 iterations of the tiny
config and of the R50 K400 config (per-GPU batch 32) with ``--amp`` fp16 and
bf16 through ``tools/train.py``; export through
``tools/model_converters/pico2mm.py``; one MMSeg linear-probe and one MMDet
frozen Mask R-CNN training iteration (used by ``tools/gpu_check.py``).

Training data is generated (:mod:`pico_mm.demo.synthetic`), its flow made by
``tools/data/extract_flow.py`` (RAFT on the GPU; DIS when the check is asked
to run on the CPU) and its tracks by ``tools/data/track_points.py``.
"""
import os.path as osp
import time
from typing import Dict

import numpy as np

from .core import SkipPart
from .flow import run_tool

TINY = 'configs/pico/pico_r18-fpn_tiny_cpu.py'
R50 = 'configs/pico/pico_r50-fpn_8xb32-coslr-100e_k400.py'
SEG = 'configs/benchmarks/mmseg/linear_pico_r50_4xb4-20k_voc12aug-512x512.py'
DET = 'configs/benchmarks/mmdet/mask-rcnn_pico_r50_fpn-frozen_8xb2-1x_coco.py'


def train_data(ctx: dict):
    """Generated videos, their flow stores and tracks (made once).

    Returns:
        pico_mm.demo.arms.DataSpec: list, video root, track folder.
    """
    from pico_mm.demo.arms import DataSpec
    from pico_mm.demo.synthetic import SceneConfig, make_video_set
    if 'train_data' in ctx:
        return ctx['train_data']
    root = osp.join(ctx['work'], 'videos')
    n = int(ctx.get('train_videos', 8))
    train_list, _ = make_video_set(root, num_train=n, num_val=0, cfg=SceneConfig(
        height=256, width=341, num_frames=int(ctx.get('train_frames', 48))))
    flow, tracks = osp.join(ctx['work'], 'vflow'), osp.join(ctx['work'],
                                                            'vtracks')
    cuda = ctx['device'].startswith('cuda')
    run_tool(ctx, 'data/extract_flow.py', train_list, flow, '--data-root',
             root, '--no-progress', *(
                 ('--backend', 'raft', '--raft-checkpoint',
                  ctx['raft_checkpoint'], '--device', ctx['device'])
                 if cuda else ('--backend', 'dis')))
    run_tool(ctx, 'data/track_points.py', flow, tracks, '--device',
             ctx['device'], '--no-progress')
    ctx['train_data'] = DataSpec(train_list, root, tracks)
    return ctx['train_data']


def no_hue_pipeline(cfg_path: str) -> list:
    """The config's training pipeline with ColorJitter's ``hue=0``.

    Under numpy 2, mmcv 2.0.1's ``adjust_hue`` (``np.uint8(hue_factor *
    255)``) raises OverflowError for any negative hue factor; a check in an
    environment that brings numpy 2 trains without hue jitter (and says so)
    rather than failing on a transform that costs no GPU time.
    """
    from mmengine.config import Config

    def patch(node):
        if isinstance(node, dict):
            if node.get('type') == 'ColorJitter':
                node['hue'] = 0.
            for v in node.values():
                patch(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                patch(v)
        return node

    cfg = Config.fromfile(cfg_path)
    return patch(cfg.to_dict()['train_dataloader']['dataset']['pipeline'])


def _train(ctx: dict, name: str, base: str, batch: int, amp: str = '',
           model: dict = None) -> Dict:
    """``tools/train.py`` for ``ctx['iters']`` iterations; figures from its
    scalars.json (it/s from the median iteration time after 5 warm-up
    iterations, peak memory as mmengine logs it, loss finite)."""
    from pico_mm.demo.arms import Budget, common_overrides
    from pico_mm.demo.pictures import find_scalars, read_scalars
    from pico_mm.demo.stages import last_checkpoint, write_config
    iters = int(ctx.get('iters', 50))
    over = common_overrides(train_data(ctx), Budget(iters=iters, batch=batch),
                            seed=0, model=model)
    over['train_dataloader'].update(
        num_workers=int(ctx.get('workers', 8)),
        sampler=dict(type='InfiniteSampler', shuffle=True))
    over['param_scheduler'] = []
    note = {}
    if int(np.__version__.split('.')[0]) >= 2:
        over['train_dataloader']['dataset']['pipeline'] = no_hue_pipeline(
            osp.join(ctx['repo'], base))
        note = dict(note='hue jitter off (numpy 2 + mmcv 2.0.1 overflow)')
    work = osp.join(ctx['work'], name)
    cfg = write_config(osp.join(work, 'config.py'), osp.join(ctx['repo'],
                                                             base), over)
    args = ['--amp'] if amp else []
    if amp and ctx['device'] == 'cpu':  # mmengine's AMP wrapper needs a GPU
        args, note = [], dict(note, amp='off (check run on the CPU)')
    if amp == 'bfloat16' and args:
        args += ['--amp-dtype', amp]
        with open(osp.join(ctx['repo'], 'tools', 'train.py'),
                  encoding='utf-8') as f:
            if '--amp-dtype' not in f.read():
                raise SkipPart('tools/train.py has no --amp-dtype here')
    wall = run_tool(ctx, 'train.py', cfg, '--work-dir', work, *args)
    series = read_scalars(find_scalars(work))
    loss = series['loss'][1]
    step_time = series['time'][1][5:] if len(series['time'][1]) > 5 else \
        series['time'][1]
    if not np.isfinite(loss).all():
        raise AssertionError(f'{name}: loss not finite at iteration '
                             f'{int(series["loss"][0][~np.isfinite(loss)][0])}')
    ctx[f'{name}_ckpt'] = last_checkpoint(work)
    figures = dict(iters=len(loss), batch=batch,
                   it_per_s=1.0 / float(np.median(step_time)),
                   loss_first=float(loss[0]), loss_last=float(loss[-1]),
                   wall_s=wall)
    if 'memory' in series:
        figures['peak_mem_mb'] = float(series['memory'][1].max())
    figures.update(note)
    return figures


def part_train_tiny(ctx: dict) -> Dict:
    """Tiny config (R18, 64 px), its own batch, fp32."""
    return _train(ctx, 'train_tiny', TINY, batch=int(ctx.get('tiny_batch', 4)))


def r50_backbone(ctx: dict) -> str:
    """A frozen ResNet-50 for the R50 runs: random weights with BatchNorm
    statistics re-estimated on the clip's frames
    (:func:`pico_mm.demo.encoders.recalibrate_bn`), so that activations have
    a real image's scale (a random ResNet with eval-mode BN at its initial
    statistics grows them by orders of magnitude, which fp16 cannot hold).
    Made once; returns the ``backbone.*`` checkpoint path."""
    import cv2
    import torch
    from mmengine.registry import init_default_scope
    from mmselfsup.registry import MODELS

    from pico_mm.demo.encoders import MEAN, STD, recalibrate_bn, save_backbone
    from .flow import load_clip
    if 'r50_backbone' in ctx:
        return ctx['r50_backbone']
    if 'clip_frames_bgr' not in ctx:
        ctx['clip_frames_bgr'], ctx['clip_source'] = load_clip(ctx)
    init_default_scope('mmselfsup')
    torch.manual_seed(0)
    net = MODELS.build(dict(type='ResNet', depth=50, out_indices=(1, 2, 3, 4),
                            norm_cfg=dict(type='BN')))
    net.init_weights()
    net.to(ctx['device'])
    x = np.stack([cv2.resize(f, (224, 224))[..., ::-1]
                  for f in ctx['clip_frames_bgr']]).astype(np.float32)
    x = torch.from_numpy((x - MEAN) / STD).permute(0, 3, 1, 2).float()
    recalibrate_bn(net, (x[i:i + 16].to(ctx['device'])
                         for i in range(0, len(x), 16)))
    ctx['r50_backbone'] = save_backbone(
        net, osp.join(ctx['work'], 'r50_random_bn_recalibrated.pth'),
        kind='random ResNet-50, BN re-estimated on the gpu_check clip',
        frames=len(x))
    return ctx['r50_backbone']


def _r50(ctx: dict, amp: str) -> Dict:
    return _train(ctx, f'train_r50_{amp}', R50,
                  batch=int(ctx.get('r50_batch', 32)), amp=amp,
                  model=dict(backbone_checkpoint=r50_backbone(ctx)))


def part_train_r50_fp16(ctx: dict) -> Dict:
    """R50 K400 config at the per-GPU batch 32, --amp (fp16)."""
    return _r50(ctx, 'float16')


def part_train_r50_bf16(ctx: dict) -> Dict:
    """R50 K400 config at the per-GPU batch 32, --amp --amp-dtype bfloat16."""
    return _r50(ctx, 'bfloat16')


def _export(ctx: dict, target: str) -> Dict:
    src = ctx['train_r50_float16_ckpt']
    dst = osp.join(ctx['work'], 'export', f'pico_r50_{target}.pth')
    wall = run_tool(ctx, 'model_converters/pico2mm.py', src, dst, '--target',
                    target)
    ctx[f'export_{target}'] = dst
    return dict(file=osp.basename(dst), mb=osp.getsize(dst) / 2**20,
                wall_s=wall)


def part_export_mmseg(ctx: dict) -> Dict:
    """pico2mm.py --target mmseg of the R50 run's checkpoint (verified)."""
    return _export(ctx, 'mmseg')


def part_export_mmdet(ctx: dict) -> Dict:
    """pico2mm.py --target mmdet of the R50 run's checkpoint (verified)."""
    return _export(ctx, 'mmdet')


def _one_step(ctx: dict, cfg_rel: str, scope: str, weights: Dict,
              batch: callable) -> Dict:
    """Build the config's model with the exported weights on the device and
    run two training iterations on a generated batch (the second timed)."""
    import torch
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    MMLogger.get_instance(f'gpu_check_{scope}', log_level='WARNING')
    cfg = Config.fromfile(osp.join(ctx['repo'], cfg_rel))
    cfg.merge_from_dict(weights)
    init_default_scope(scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(ctx['device']).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = batch()
    cuda = ctx['device'].startswith('cuda')
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    losses = []
    for _ in range(2):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        losses.append(float(model.train_step(data, optim)['loss']))
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    if not np.isfinite(losses).all():
        raise AssertionError(f'{cfg_rel}: loss {losses}')
    # untrained frozen features: the values mean nothing, finiteness does
    figures = dict(batch=len(data['inputs']), step_s=dt, loss_step1=losses[0],
                   loss_step2=losses[1])
    if cuda:
        figures['peak_mem_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return figures


def part_seg_iter(ctx: dict) -> Dict:
    """MMSeg linear probe (VOC config, 4 images of 512x512)."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    size = int(ctx.get('seg_size', 512))

    def batch():
        g = torch.Generator().manual_seed(0)
        inputs, samples = [], []
        for _ in range(4):
            inputs.append(torch.randint(0, 256, (3, size, size), generator=g,
                                        dtype=torch.uint8))
            s = SegDataSample(metainfo=dict(img_shape=(size, size),
                                            ori_shape=(size, size),
                                            pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(data=torch.randint(
                0, 21, (1, size, size), generator=g))
            samples.append(s)
        return dict(inputs=inputs, data_samples=samples)

    import pico_mm.seg  # noqa: F401  registers FrozenDenseEncoder & co
    return _one_step(ctx, SEG, 'mmseg', {'model.backbone.checkpoint':
                                         ctx['export_mmseg']}, batch)


def part_det_iter(ctx: dict) -> Dict:
    """MMDet frozen Mask R-CNN (COCO config, 2 images, mmcv's ops)."""
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    h, w = ctx.get('det_size', (800, 1216))

    def batch():
        g = np.random.default_rng(0)
        inputs, samples = [], []
        for _ in range(2):
            inputs.append(torch.from_numpy(g.integers(
                0, 256, (3, h, w), dtype=np.uint8)))
            xy = g.uniform(0, [w * .6, h * .6], (3, 2))
            wh = g.uniform(32, [w * .4, h * .4], (3, 2))
            boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
            masks = np.zeros((3, h, w), np.uint8)
            for m, (x0, y0, x1, y1) in zip(masks, boxes.astype(int)):
                m[y0:y1, x0:x1] = 1
            s = DetDataSample(metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                scale_factor=(1., 1.)))
            s.gt_instances = InstanceData(
                bboxes=torch.from_numpy(boxes),
                labels=torch.from_numpy(g.integers(0, 80, 3)),
                masks=BitmapMasks(masks, h, w))
            samples.append(s)
        return dict(inputs=inputs, data_samples=samples)

    import pico_mm.det  # noqa: F401  registers FrozenMaskRCNN & co
    return _one_step(ctx, DET, 'mmdet', {'model.frozen_checkpoint':
                                         ctx['export_mmdet']}, batch)
