"""Tiny datasets in the real on-disk formats, and tiny-model overrides.

Not a test module: ``tests/conftest.py`` puts ``tests/_helpers`` on
``sys.path``, and the evaluation tests ``import pico_eval_tiny_data``.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
import torch
from PIL import Image

from pico_test_tools import ToolRunner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel_path: str):
    """Import a script under ``tools/`` by path."""
    path = osp.join(REPO, rel_path)
    name = '_pico_tool_' + osp.splitext(osp.basename(path))[0]
    return ToolRunner(path, name).module


def _img(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _blocks(rng, h, w, labels):
    """Piecewise-constant label map (4x4 blocks), uint8."""
    small = rng.choice(labels, size=(4, 4)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


# ----------------------------------------------------------- COCO panoptic
PANOPTIC_CATEGORIES = [
    dict(id=1, name='person', isthing=1),
    dict(id=3, name='car', isthing=1),
    dict(id=184, name='tree-merged', isthing=0),
    dict(id=187, name='sky-other-merged', isthing=0),
    dict(id=92, name='banner', isthing=0),
]


def make_coco_panoptic(root, n_train=4, n_val=2, size=64, seed=0):
    """COCO images + panoptic JSON/PNG (RGB-encoded ids), official layout."""
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        os.makedirs(osp.join(root, f'{split}2017'), exist_ok=True)
        png_dir = osp.join(root, 'annotations', f'panoptic_{split}2017')
        os.makedirs(png_dir, exist_ok=True)
        anns, images = [], []
        for i in range(n):
            name = f'{i:012d}'
            cv2.imwrite(osp.join(root, f'{split}2017', name + '.jpg'),
                        _img(rng, size, size))
            cats = rng.choice([c['id'] for c in PANOPTIC_CATEGORIES], 4)
            seg_map = _blocks(rng, size, size, [0, 1, 2, 3, 4])  # 0: void
            ids = np.zeros((size, size), np.int64)
            segs = []
            for k in range(1, 5):
                seg_id = int(rng.integers(1, 256 ** 3 - 1))
                ids[seg_map == k] = seg_id
                segs.append(dict(id=seg_id, category_id=int(cats[k - 1]),
                                 iscrowd=0, bbox=[0, 0, 1, 1], area=1))
            rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536],
                           -1).astype(np.uint8)
            cv2.imwrite(osp.join(png_dir, name + '.png'), rgb[..., ::-1])
            images.append(dict(id=i, file_name=name + '.jpg', height=size,
                               width=size))
            anns.append(dict(image_id=i, file_name=name + '.png',
                             segments_info=segs))
        with open(osp.join(root, 'annotations',
                           f'panoptic_{split}2017.json'), 'w') as f:
            json.dump(dict(images=images, annotations=anns,
                           categories=PANOPTIC_CATEGORIES), f)
    return root


# -------------------------------------------------------------------- VOC
def _voc_palette():
    # The PASCAL VOC colour map (same as DAVIS's), as a flat list for PIL.
    from pico_mm.evaluation.davis_layout import davis_palette
    return davis_palette().reshape(-1).tolist()


def make_voc(root, size=64, seed=1):
    """VOCdevkit/VOC2012 with JPEGImages, palette SegmentationClass (with 255
    borders), grayscale SegmentationClassAug, ImageSets train/aug/val."""
    rng = np.random.default_rng(seed)
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    for d in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
              'ImageSets/Segmentation'):
        os.makedirs(osp.join(voc, d), exist_ok=True)
    names = [f'2007_{i:06d}' for i in range(6)]
    for n in names:
        cv2.imwrite(osp.join(voc, 'JPEGImages', n + '.jpg'),
                    _img(rng, size, size))
        lab = _blocks(rng, size, size, [0, 1, 5, 15, 20])
        pmode = lab.copy()
        pmode[0, :] = 255  # VOC's void border
        im = Image.fromarray(pmode, mode='P')
        im.putpalette(_voc_palette())
        im.save(osp.join(voc, 'SegmentationClass', n + '.png'))
        Image.fromarray(lab).save(
            osp.join(voc, 'SegmentationClassAug', n + '.png'))
    sets = dict(train=names[:2], aug=names[2:4], val=names[4:])
    for k, v in sets.items():
        with open(osp.join(voc, 'ImageSets/Segmentation', k + '.txt'),
                  'w') as f:
            f.write('\n'.join(v) + '\n')
    return voc


# ------------------------------------------------------------- Cityscapes
def make_cityscapes(root, h=32, w=64, seed=2):
    """leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and
    gtFine/.../*_gtFine_labelTrainIds.png (19 train ids + 255)."""
    rng = np.random.default_rng(seed)
    for split, city, n in (('train', 'aachen', 4), ('val', 'frankfurt', 2)):
        img_dir = osp.join(root, 'leftImg8bit', split, city)
        gt_dir = osp.join(root, 'gtFine', split, city)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(gt_dir, exist_ok=True)
        for i in range(n):
            stem = f'{city}_{i:06d}_000019'
            cv2.imwrite(osp.join(img_dir, stem + '_leftImg8bit.png'),
                        _img(rng, h, w))
            cv2.imwrite(osp.join(gt_dir, stem + '_gtFine_labelTrainIds.png'),
                        _blocks(rng, h, w, [0, 1, 2, 8, 10, 13, 255]))
    return root


# -------------------------------------------------------------------- NYU
def make_nyu(root, h=96, w=128, seed=3):
    """images/{train,test}/<scene>_<n>.jpg and annotations/.../*.png
    (uint16 depth in millimetres, 0 = invalid), as mmseg's converter."""
    rng = np.random.default_rng(seed)
    for split, n in (('train', 4), ('test', 2)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(n):
            stem = f'bedroom_{i:04d}'
            cv2.imwrite(osp.join(root, 'images', split, stem + '.jpg'),
                        _img(rng, h, w))
            depth = rng.integers(500, 9000, (h, w)).astype(np.uint16)
            depth[:4] = 0  # invalid rows
            cv2.imwrite(osp.join(root, 'annotations', split, stem + '.png'),
                        depth)
    return root


# ---------------------------------------------------------- COCO instances
def make_coco_instances(root, size=96, seed=4):
    """train2017/val2017 JPEGs + annotations/instances_*2017.json with
    polygon masks (COCO's 80 categories; objects are persons and cars)."""
    rng = np.random.default_rng(seed)
    from mmdet.datasets import CocoDataset
    # all 80 COCO class names (ids 1..80 here); boxes use person and car
    cats = [dict(id=i + 1, name=n, supercategory='x')
            for i, n in enumerate(CocoDataset.METAINFO['classes'])]
    assert cats[0]['name'] == 'person' and cats[2]['name'] == 'car'
    cats = [cats[0], cats[2]] + cats[1:2] + cats[3:]
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, n in (('train', 4), ('val', 2)):
        os.makedirs(osp.join(root, f'{split}2017'), exist_ok=True)
        images, anns = [], []
        for i in range(n):
            name = f'{i:012d}.jpg'
            cv2.imwrite(osp.join(root, f'{split}2017', name),
                        _img(rng, size, size))
            images.append(dict(id=i + 1, file_name=name, height=size,
                               width=size))
            for k in range(2):
                x, y = (int(v) for v in rng.integers(4, size // 2, 2))
                bw, bh = (int(v) for v in rng.integers(16, size // 2, 2))
                poly = [x, y, x + bw, y, x + bw, y + bh, x, y + bh]
                anns.append(dict(
                    id=len(anns) + 1 + 100 * i, image_id=i + 1,
                    category_id=cats[k]['id'], bbox=[x, y, bw, bh],
                    area=float(bw * bh), segmentation=[poly], iscrowd=0))
        with open(osp.join(root, 'annotations',
                           f'instances_{split}2017.json'), 'w') as f:
            json.dump(dict(images=images, annotations=anns, categories=cats),
                      f)
    return root


# ---------------------------------------------------- tiny PiCo checkpoint
TINY_NECK = dict(in_channels=[64, 128, 256, 512], fpn_channels=32,
                 decoder_channels=32, out_channels=16,
                 norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))


def make_pico_checkpoint(path, seed=0):
    """A PiCo-layout training checkpoint with a ResNet-18 (mmselfsup's
    ``ResNet``, C2..C5) and a small ``PiCoFPNNeck`` plus the parts that the
    export must drop (projection head, momentum encoder, queue)."""
    from mmselfsup.models.backbones import ResNet as SelfSupResNet

    from pico_mm.models.necks import PiCoFPNNeck
    torch.manual_seed(seed)
    backbone = SelfSupResNet(depth=18, out_indices=(1, 2, 3, 4))
    neck = PiCoFPNNeck(**TINY_NECK)
    backbone.init_weights()
    neck.init_weights()
    with torch.no_grad():  # non-trivial BN statistics
        for m in backbone.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    state = {}
    for prefix, mod in (('backbone.', backbone), ('neck.', neck)):
        for k, v in mod.state_dict().items():
            state[prefix + k] = v.clone()
            state['encoder_k.module.' + ('0.' if prefix == 'backbone.' else
                                         '1.') + k] = v.clone()
    state['head.projector.0.weight'] = torch.randn(32, 16, 1, 1)
    state['queue'] = torch.randn(16, 64)
    state['queue_ptr'] = torch.zeros(1, dtype=torch.long)
    torch.save(dict(meta=dict(epoch=1), state_dict=state,
                    optimizer=dict(state={}, param_groups=[])), path)
    return state


def make_moco_checkpoint(path, seed=1):
    """facebookresearch/moco layout: ``module.encoder_q.*`` (torchvision
    ResNet-18 + 2-layer MLP ``fc``), ``module.encoder_k.*``, queue."""
    import torchvision
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(num_classes=128)
    net.fc = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                 torch.nn.Linear(512, 128))
    state = {}
    for k, v in net.state_dict().items():
        state['module.encoder_q.' + k] = v.clone()
        state['module.encoder_k.' + k] = v.clone() + 1
    state['module.queue'] = torch.randn(128, 64)
    state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    torch.save(dict(epoch=200, arch='resnet18', state_dict=state), path)
    return net.state_dict()


# ------------------------------------------------------ config shrinking
def iter_datasets(dataset_cfg):
    """Leaf dataset configs (unwraps ConcatDataset / RepeatDataset)."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from iter_datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from iter_datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def make_tiny_run(cfg, scale=(64, 64), crop=(32, 32), max_iters=2,
                  batch_size=2):
    """Shrink image sizes, loaders and schedule of a benchmark config in
    place (the transforms themselves are kept)."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.update(num_workers=0, persistent_workers=False,
                      batch_size=batch_size if key.startswith('train') else 1)
        for ds in iter_datasets(loader['dataset']):
            for t in ds.get('pipeline', []):
                if t['type'] in ('Resize', 'RandomResize') and 'scale' in t:
                    t['scale'] = scale
                if t['type'] == 'RandomChoiceResize':
                    t['scales'] = [scale, (scale[0], scale[1] - 8)]
                if 'crop_size' in t:
                    t['crop_size'] = crop
                if t['type'] == 'Pad' and 'size' in t:
                    t['size'] = crop
    dp = cfg.model.get('data_preprocessor', {})
    if dp.get('size') is not None:
        dp['size'] = crop
    if cfg.train_cfg.get('type') == 'IterBasedTrainLoop':
        cfg.train_cfg.update(max_iters=max_iters, val_interval=10 ** 6)
    else:  # epoch loop: 4 images / batch 2 = 2 iterations per epoch
        cfg.train_cfg.update(max_epochs=1, val_interval=10 ** 6)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=10 ** 6, save_last=False)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                       mp_cfg=dict(mp_start_method='fork'))
    return cfg


def tiny_seg_model(cfg):
    """ResNet-18 (+ tiny PiCo neck) instead of ResNet-50 in an mmseg
    benchmark config; returns the expected feature channels."""
    enc = cfg.model.backbone
    enc.backbone.depth = 18
    if enc.get('neck') is not None:
        enc.neck = dict(TINY_NECK)
        ch = TINY_NECK['out_channels']
    else:
        ch = 512
    cfg.model.decode_head.in_channels = ch
    return ch


def build(scope, cfg):
    """Build ``cfg`` from ``<scope>.registry.MODELS`` under that default scope
    (a Runner of an earlier test may have left another scope current)."""
    import importlib

    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)
