"""Neutral frozen encoders for the arms' comparison (issue 19, point 5).

Two encoders that no compared arm trains:

* **E1, image-level MoCo-v2** (:func:`write_mocov2_config`): mmselfsup's own ``MoCo``
  algorithm with the MoCo-v2 neck and augmentations
  (``configs/encoders/mocov2_r18_frames_tiny_cpu.py``), trained on single frames
  of the training videos. No correspondence and no arm's loss is involved.
* **E2, random + BN recalibration** (:func:`recalibrate_bn`): a randomly initialised
  ResNet whose BatchNorm running statistics are re-estimated on training frames
  (weights untouched). A random network with ImageNet-free, data-matched statistics is
  the usual "untrained" control.

Both are saved as ``{'state_dict': {'backbone.*': ...}, 'meta': ...}``, which
``model.backbone_checkpoint`` (:func:`pico_mm.models.utils.load_moco_backbone`)
loads like any mmselfsup checkpoint.
"""
import hashlib
import os
import os.path as osp
import tempfile
from typing import Iterable, Iterator, List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['dump_frames', 'iter_image_batches', 'recalibrate_bn',
           'save_backbone', 'file_sha256', 'write_mocov2_config']

#: ImageNet mean/std (RGB, 0..255) used by every pico_mm / mmselfsup preprocessor.
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def dump_frames(videos: Sequence[str], out_dir: str, fps: float = 5.0,
                short_side: int = 128, max_per_video: Optional[int] = None,
                source_fps: Optional[float] = None) -> List[str]:
    """Write frames of ``videos`` as JPEGs, one sub-folder per video.

    The layout (``out_dir/<video stem>/00000.jpg``) is what mmcls's
    ``CustomDataset`` reads without an annotation file (the sub-folder is its
    "class", which MoCo ignores). Existing frames are kept (rerun-safe); every
    file is written to a temp name and renamed.

    Args:
        videos (Sequence[str]): Video files (or rawframe folders).
        out_dir (str): Output folder.
        fps (float): Frames per second taken from each video.
        short_side (int): Short side of the written frames (px).
        max_per_video (int, optional): Cap per video (None: all).
        source_fps (float, optional): Source rate override (rawframe folders
            have none: with ``source_fps=1`` and ``fps=1/n`` every n-th frame).

    Returns:
        list[str]: Paths of all frames (existing and new), sorted.
    """
    from pico_mm.flow.video import iter_frames
    paths = []
    for video in videos:
        stem = osp.splitext(osp.basename(video.rstrip('/')))[0]
        folder = osp.join(out_dir, stem)
        os.makedirs(folder, exist_ok=True)
        for j, frame in iter_frames(video, fps=fps, short_side=short_side,
                                    source_fps=source_fps,
                                    stop=max_per_video):
            path = osp.join(folder, f'{j:05d}.jpg')
            if not osp.isfile(path):
                ok, buf = cv2.imencode('.jpg', frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
                if not ok:
                    raise RuntimeError(f'{video}: frame {j} could not be encoded')
                tmp = path + '.tmp'
                with open(tmp, 'wb') as f:
                    f.write(buf.tobytes())
                os.replace(tmp, path)
            paths.append(path)
    if not paths:
        raise ValueError(f'no frames read from {list(videos)}: check the paths '
                         'and that OpenCV can decode them')
    return sorted(paths)


def iter_image_batches(paths: Sequence[str], size: int, batch_size: int
                       ) -> Iterator[torch.Tensor]:
    """Normalised centre-crop batches of image files.

    Args:
        paths (Sequence[str]): Image files (BGR JPEG/PNG).
        size (int): Output side: short side resized to ``size``, centre crop.
        batch_size (int): Images per batch.

    Yields:
        Tensor: ``B×3×size×size`` float32, RGB, ImageNet-normalised.
    """
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    batch = []
    for i, path in enumerate(paths):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: not a readable image')
        h, w = img.shape[:2]
        s = size / min(h, w)
        img = cv2.resize(img, (max(size, round(w * s)), max(size, round(h * s))),
                         interpolation=cv2.INTER_AREA)
        y0 = (img.shape[0] - size) // 2
        x0 = (img.shape[1] - size) // 2
        img = img[y0:y0 + size, x0:x0 + size, ::-1]  # BGR -> RGB
        batch.append(torch.from_numpy(np.ascontiguousarray(img)))
        if len(batch) == batch_size or i == len(paths) - 1:
            x = torch.stack(batch).permute(0, 3, 1, 2).float()
            yield (x - mean) / std
            batch = []


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Re-estimate every BatchNorm's running mean/var on ``batches``.

    Running statistics are reset and accumulated as an exact cumulative average
    over the batches (``momentum=None``), with the model in train mode for the
    BN layers only; weights and biases are not touched. Each BN's momentum and
    every module's mode are restored afterwards.

    Args:
        model (nn.Module): Network with BatchNorm layers.
        batches (Iterable[Tensor]): Input batches ``B×C×H×W``.

    Returns:
        int: Number of images seen.
    """
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not bns:
        raise ValueError('recalibrate_bn: the model has no BatchNorm layer')
    modes = {m: m.training for m in model.modules()}
    momenta = {m: m.momentum for m in bns}
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    n = 0
    try:
        for x in batches:
            model(x)
            n += x.shape[0]
    finally:
        for m, mom in momenta.items():
            m.momentum = mom
        for m, mode in modes.items():
            m.training = mode
    if n == 0:
        raise ValueError('recalibrate_bn: no batch given')
    return n


def save_backbone(backbone: nn.Module, path: str, **meta) -> str:
    """Save ``{'state_dict': {'backbone.<k>': v}, 'meta': meta}`` atomically.

    Args:
        backbone (nn.Module): The encoder.
        path (str): Output ``.pth``.
        **meta: JSON-able facts recorded with the weights.

    Returns:
        str: ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    state = {f'backbone.{k}': v.detach().cpu()
             for k, v in backbone.state_dict().items()}
    fd, tmp = tempfile.mkstemp(suffix='.pth', dir=folder)
    os.close(fd)
    try:
        torch.save({'state_dict': state, 'meta': dict(meta)}, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file (recorded as the encoder's identity)."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_mocov2_config(base: str, path: str, frames_dir: str, iters: int,
                        batch_size: int = 16, img_size: int = 64,
                        queue_len: int = 1024, seed: int = 0) -> str:
    """Write the E1 MoCo-v2 config pointed at a frame folder (temp + rename).

    The base config (``configs/encoders/mocov2_r18_frames_tiny_cpu.py``) is
    loaded, its data root, batch, view size, queue, budget and seed are set, and
    the full result is dumped, so the written file trains with
    ``tools/train.py`` on its own.

    Args:
        base (str): The base MoCo-v2 config.
        path (str): Output ``.py`` config.
        frames_dir (str): Folder written by :func:`dump_frames`.
        iters (int): Training iterations (one checkpoint at the end).
        batch_size (int): Images per iteration (``queue_len`` must be a
            multiple of it: mmselfsup's queue update asserts so).
        img_size (int): View size (px) of ``RandomResizedCrop``.
        queue_len (int): Negative keys in the queue.
        seed (int): Random seed.

    Returns:
        str: ``path``.
    """
    from mmengine.config import Config
    if queue_len % batch_size:
        raise ValueError(f'queue_len {queue_len} must be a multiple of the batch '
                         f'size {batch_size} (mmselfsup MoCo queue update)')
    cfg = Config.fromfile(base)
    cfg.model.queue_len = queue_len
    loader = cfg.train_dataloader
    loader.batch_size = batch_size
    loader.dataset.data_root = osp.abspath(frames_dir)
    loader.dataset.data_prefix = ''
    views = [t for t in loader.dataset.pipeline if t['type'] == 'MultiView']
    crops = [t for t in views[0]['transforms'][0] if t['type'] == 'RandomResizedCrop']
    crops[0]['size'] = img_size
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters,
                                        by_epoch=False)
    cfg.randomness = dict(seed=seed)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.tmp.py'
    cfg.dump(tmp)
    os.replace(tmp, path)
    return path
