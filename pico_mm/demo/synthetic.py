"""Deterministic synthetic video set for the demo and the tests (pure numpy/cv2).

Each video shows a textured background seen by a moving camera (smooth pan with a
slight zoom) and a few textured foreground objects (ellipses / rectangles) that move
independently of the camera and of each other, so they occlude the background and each
other. Everything is drawn with sub-pixel affine warps, so optical flow is smooth and
well defined away from object borders. Nothing is downloaded: the scenes come from a
seeded ``np.random.Generator``.

Videos are written as ``.mp4`` (``mp4v``) when OpenCV can decode them back, otherwise
as ``.avi`` (MJPG). A video list in mmaction2's ``path label`` format is written next
to them.
"""
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

__all__ = [
    'SceneConfig', 'make_texture', 'render_video', 'write_video',
    'make_video_set'
]


@dataclass
class SceneConfig:
    """Settings of one synthetic scene.

    Args:
        height (int): Frame height in pixels.
        width (int): Frame width in pixels.
        num_frames (int): Number of frames.
        fps (float): Frame rate written into the video file.
        num_objects (int): Number of independently moving foreground objects.
        max_cam_shift (float): Largest camera pan (pixels) over the whole clip.
        max_zoom (float): Largest relative zoom of the camera (e.g. 0.1 = 10 %).
        max_obj_speed (float): Largest object speed in pixels per frame.
    """
    height: int = 112
    width: int = 144
    num_frames: int = 90
    fps: float = 30.0
    num_objects: int = 3
    max_cam_shift: float = 24.0
    max_zoom: float = 0.08
    max_obj_speed: float = 1.2
    extra: Dict = field(default_factory=dict)


def make_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Random colour texture with structure at several scales.

    Sum of upsampled random noise (cell sizes 3–24 px) plus random discs, bars and
    lines, so every region has strong, locally unique gradients (good for DIS flow
    and for correspondence learning).

    Args:
        rng: Seeded random generator.
        height (int): Texture height.
        width (int): Texture width.

    Returns:
        np.ndarray: uint8 H×W×3 BGR image.
    """
    img = np.zeros((height, width, 3), np.float32)
    for cell, weight in ((3, 0.35), (7, 0.3), (14, 0.25), (28, 0.3)):
        gh, gw = max(2, height // cell + 2), max(2, width // cell + 2)
        noise = rng.random((gh, gw, 3), dtype=np.float32)
        img += weight * cv2.resize(
            noise, (width, height), interpolation=cv2.INTER_CUBIC)
    img -= img.min()
    img *= 200.0 / max(float(img.max()), 1e-6)
    img += 20.0
    n_shapes = max(4, height * width // 600)
    for _ in range(n_shapes):
        colour = tuple(float(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        if kind == 0:
            cv2.circle(img, (cx, cy), int(rng.integers(2, 9)), colour, -1,
                       cv2.LINE_AA)
        elif kind == 1:
            w, h = int(rng.integers(3, 14)), int(rng.integers(3, 14))
            cv2.rectangle(img, (cx, cy), (cx + w, cy + h), colour, -1)
        else:
            ex = cx + int(rng.integers(-20, 21))
            ey = cy + int(rng.integers(-20, 21))
            cv2.line(img, (cx, cy), (ex, ey), colour, int(rng.integers(1, 3)),
                     cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


def _smooth_path(rng: np.random.Generator, num_frames: int, amplitude: float,
                 dims: int = 2) -> np.ndarray:
    """Smooth random path: a random sum of two sinusoids per dimension.

    Returns:
        np.ndarray: float32 T×dims offsets, starting at 0.
    """
    t = np.linspace(0.0, 1.0, num_frames, dtype=np.float64)[:, None]
    freq = rng.uniform(0.3, 1.2, (2, dims))
    phase = rng.uniform(0, 2 * np.pi, (2, dims))
    amp = rng.uniform(0.3, 1.0, (2, dims)) * amplitude / 2
    path = (amp[0] * np.sin(2 * np.pi * freq[0] * t + phase[0]) +
            amp[1] * np.sin(2 * np.pi * freq[1] * t + phase[1]))
    return (path - path[:1]).astype(np.float32)


def _make_object(rng: np.random.Generator, cfg: SceneConfig) -> Dict:
    """Texture, mask and trajectory of one foreground object."""
    h = int(rng.integers(cfg.height // 5, cfg.height // 2.5))
    w = int(rng.integers(cfg.width // 5, cfg.width // 2.5))
    # A per-object tint makes objects visibly distinct from the background.
    tint = rng.integers(0, 256, 3).astype(np.float32)
    tex = (0.6 * make_texture(rng, h, w) + 0.4 * tint).astype(np.uint8)
    mask = np.zeros((h, w), np.float32)
    if rng.random() < 0.5:
        cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0,
                    360, 1.0, -1, cv2.LINE_AA)
    else:
        mask[1:-1, 1:-1] = 1.0
    # Linear motion (crossing the frame) + wobble, so objects overlap each other.
    start = np.array([rng.uniform(0, cfg.width - w),
                      rng.uniform(0, cfg.height - h)], np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    speed = rng.uniform(0.4, 1.0) * cfg.max_obj_speed
    vel = speed * np.array([np.cos(angle), np.sin(angle)], np.float32)
    t = np.arange(cfg.num_frames, dtype=np.float32)[:, None]
    pos = start + vel * t + _smooth_path(rng, cfg.num_frames, 6.0)
    # Bounce off the frame borders (reflect) so objects stay mostly in view.
    lo = np.array([-w / 3, -h / 3], np.float32)
    hi = np.array([cfg.width - 2 * w / 3, cfg.height - 2 * h / 3], np.float32)
    span = hi - lo
    rel = np.mod(pos - lo, 2 * span)
    pos = lo + np.where(rel > span, 2 * span - rel, rel)
    rot = _smooth_path(rng, cfg.num_frames, 20.0, dims=1)[:, 0]
    return dict(tex=tex, mask=mask, pos=pos, rot=rot)


def render_video(seed: int, cfg: Optional[SceneConfig] = None) -> List[np.ndarray]:
    """Render one synthetic clip.

    Args:
        seed (int): Random seed; the same seed gives the same frames.
        cfg (SceneConfig, optional): Scene settings. Defaults to ``SceneConfig()``.

    Returns:
        list[np.ndarray]: ``cfg.num_frames`` uint8 H×W×3 BGR frames.
    """
    cfg = cfg or SceneConfig()
    rng = np.random.default_rng(seed)
    H, W, T = cfg.height, cfg.width, cfg.num_frames
    margin = int(np.ceil(cfg.max_cam_shift + cfg.max_zoom * max(H, W))) + 4
    canvas = make_texture(rng, H + 2 * margin, W + 2 * margin)
    cam = _smooth_path(rng, T, cfg.max_cam_shift)
    zoom = 1.0 + _smooth_path(rng, T, cfg.max_zoom, dims=1)[:, 0]
    objects = [_make_object(rng, cfg) for _ in range(cfg.num_objects)]
    frames = []
    for t in range(T):
        # Camera: frame pixel p sees canvas point c + (p - centre) / zoom + cam.
        s = 1.0 / zoom[t]
        cx, cy = W / 2.0, H / 2.0
        tx = margin + cam[t, 0] + cx - s * cx
        ty = margin + cam[t, 1] + cy - s * cy
        m_inv = np.array([[s, 0, tx], [0, s, ty]], np.float32)
        frame = cv2.warpAffine(
            canvas, m_inv, (W, H),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        for obj in objects:
            oh, ow = obj['mask'].shape
            rot = cv2.getRotationMatrix2D((ow / 2.0, oh / 2.0),
                                          float(obj['rot'][t]), 1.0)
            rot[:, 2] += obj['pos'][t]
            tex = cv2.warpAffine(obj['tex'], rot, (W, H),
                                 flags=cv2.INTER_LINEAR).astype(np.float32)
            alpha = cv2.warpAffine(obj['mask'], rot, (W, H),
                                   flags=cv2.INTER_LINEAR)[..., None]
            frame = frame * (1 - alpha) + tex * alpha
        frames.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return frames


def _probe_decode(path: str, num_frames: int) -> bool:
    """True when OpenCV decodes ``num_frames`` frames back from ``path``."""
    cap = cv2.VideoCapture(path)
    n = 0
    try:
        while cap.isOpened():
            ok, _ = cap.read()
            if not ok:
                break
            n += 1
    finally:
        cap.release()
    return n == num_frames


def write_video(frames: List[np.ndarray], path_no_ext: str,
                fps: float = 30.0) -> str:
    """Write frames as ``.mp4`` (mp4v), falling back to ``.avi`` (MJPG).

    The file is written under a temporary name and renamed once it decodes back,
    so an interrupted run never leaves a half-written video.

    Args:
        frames (list[np.ndarray]): uint8 H×W×3 BGR frames.
        path_no_ext (str): Output path without extension.
        fps (float): Frame rate.

    Returns:
        str: Path of the written video.

    Raises:
        RuntimeError: When neither codec writes a decodable file.
    """
    h, w = frames[0].shape[:2]
    out_dir = osp.dirname(osp.abspath(path_no_ext))
    os.makedirs(out_dir, exist_ok=True)
    for ext, fourcc in (('.mp4', 'mp4v'), ('.avi', 'MJPG')):
        fd, tmp = tempfile.mkstemp(suffix=ext, dir=out_dir, prefix='.tmp_')
        os.close(fd)
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*fourcc), fps,
                                 (w, h))
        ok = writer.isOpened()
        if ok:
            for f in frames:
                writer.write(f)
        writer.release()
        if ok and _probe_decode(tmp, len(frames)):
            os.chmod(tmp, 0o644)
            os.replace(tmp, path_no_ext + ext)
            return path_no_ext + ext
        os.remove(tmp)
    raise RuntimeError(
        f'cannot write a decodable video at {path_no_ext}.mp4/.avi: this OpenCV '
        'build has no working mp4v or MJPG encoder; install opencv-python-headless '
        'from PyPI')


def make_video_set(out_dir: str,
                   num_train: int = 3,
                   num_val: int = 1,
                   seed: int = 0,
                   cfg: Optional[SceneConfig] = None,
                   progress: bool = False) -> Tuple[str, str]:
    """Write a small train/val synthetic video set with mmaction2 list files.

    Layout::

        out_dir/train/vid_000.mp4 ...   out_dir/train_list.txt  ("train/vid_000.mp4 0")
        out_dir/val/vid_000.mp4 ...     out_dir/val_list.txt

    List paths are relative to ``out_dir``. Existing videos are kept (skip if done).

    Args:
        out_dir (str): Output folder.
        num_train (int): Number of training videos.
        num_val (int): Number of held-out videos (for the correspondence probe).
        seed (int): Base seed; video ``i`` of split ``s`` uses a seed derived from it.
        cfg (SceneConfig, optional): Scene settings.
        progress (bool): Show a tqdm progress bar.

    Returns:
        tuple[str, str]: Paths of the train and val list files.
    """
    cfg = cfg or SceneConfig()
    jobs = [('train', i) for i in range(num_train)]
    jobs += [('val', i) for i in range(num_val)]
    if progress:
        from tqdm import tqdm
        jobs_iter = tqdm(jobs, desc='synthetic videos', unit='video')
    else:
        jobs_iter = jobs
    lines = {'train': [], 'val': []}
    for split, i in jobs_iter:
        rel = f'{split}/vid_{i:03d}'
        existing = [rel + e for e in ('.mp4', '.avi')
                    if osp.exists(osp.join(out_dir, rel + e))]
        if existing:
            path = existing[0]
        else:
            split_id = 0 if split == 'train' else 1
            frames = render_video(seed * 100003 + split_id * 1009 + i, cfg)
            path = osp.relpath(
                write_video(frames, osp.join(out_dir, rel), cfg.fps), out_dir)
        lines[split].append(f'{path} {i}')
    paths = []
    for split in ('train', 'val'):
        list_path = osp.join(out_dir, f'{split}_list.txt')
        tmp = list_path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines[split]) + ('\n' if lines[split] else ''))
        os.replace(tmp, list_path)
        paths.append(list_path)
    return paths[0], paths[1]
