"""Pictures of the demo: PCA-RGB of dense features, loss and probe curves.

Matplotlib is used through its object API with the Agg canvas (no display, no global
``pyplot`` state). Every PNG is written to a temporary file and renamed.
"""
import glob
import json
import math
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    'pca_rgb', 'save_pca_figure', 'read_scalars', 'find_scalars',
    'save_curves', 'make_demo_pictures'
]


def pca_rgb(feats: Sequence, out_size: Optional[Tuple[int, int]] = None
            ) -> List[np.ndarray]:
    """Map dense features to RGB with one PCA shared by all the given maps.

    Features are L2-normalised per cell (the probe's cosine geometry), centred, and
    projected on their 3 leading principal components; each component is scaled to
    0..255 between its 1st and 99th percentile.

    Args:
        feats (Sequence): C×h×w tensors or arrays (same C).
        out_size (tuple[int, int], optional): ``(H, W)`` to upsample the images to
            (nearest, so cells stay visible).

    Returns:
        list[np.ndarray]: uint8 h×w×3 (or H×W×3) RGB images, one per map.
    """
    maps = [torch.as_tensor(np.asarray(f) if not torch.is_tensor(f) else f)
            .detach().float().cpu() for f in feats]
    flat = torch.cat([F.normalize(m.reshape(m.shape[0], -1), dim=0).t()
                      for m in maps])
    flat = flat - flat.mean(0, keepdim=True)
    k = min(3, flat.shape[1], flat.shape[0])
    _, _, v = torch.linalg.svd(flat, full_matrices=False)
    proj = flat @ v[:k].t()
    if k < 3:
        proj = torch.cat([proj, proj.new_zeros(proj.shape[0], 3 - k)], 1)
    lo = torch.quantile(proj, 0.01, dim=0)
    hi = torch.quantile(proj, 0.99, dim=0)
    proj = ((proj - lo) / (hi - lo).clamp_min(1e-8)).clamp(0, 1) * 255
    out, i = [], 0
    for m in maps:
        h, w = m.shape[-2:]
        img = proj[i:i + h * w].reshape(h, w, 3).round().byte().numpy()
        i += h * w
        if out_size is not None:
            img = np.repeat(np.repeat(img, math.ceil(out_size[0] / h), 0),
                            math.ceil(out_size[1] / w), 1)[:out_size[0], :out_size[1]]
        out.append(np.ascontiguousarray(img))
    return out


def _save_figure(fig, path: str) -> str:
    """Render a matplotlib Figure to ``path`` atomically via the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.png', dir=out_dir, prefix='.tmp_')
    os.close(fd)
    try:
        fig.savefig(tmp, format='png', dpi=100)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def save_pca_figure(path: str, frames: Sequence[np.ndarray],
                    feats_by_model: Dict[str, Sequence],
                    title: str = 'PCA-RGB of dense features') -> str:
    """Grid of frames (rows) × [image, PCA-RGB of each model] (columns).

    Each model gets its own PCA fitted jointly over all its frames, so colours are
    comparable down a column (same colour ≈ similar feature).

    Args:
        path (str): Output PNG.
        frames (Sequence[np.ndarray]): uint8 H×W×3 BGR frames.
        feats_by_model (dict[str, Sequence]): Model name → C×h×w features per frame.
        title (str): Figure title.

    Returns:
        str: ``path``.
    """
    from matplotlib.figure import Figure
    names = list(feats_by_model)
    size = frames[0].shape[:2]
    cols = {n: pca_rgb(feats_by_model[n], size) for n in names}
    nr, nc = len(frames), 1 + len(names)
    fig = Figure(figsize=(2.2 * nc, 2.2 * nr * size[0] / size[1] + 0.5))
    for r, frame in enumerate(frames):
        panels = [frame[..., ::-1]] + [cols[n][r] for n in names]
        for c, img in enumerate(panels):
            ax = fig.add_subplot(nr, nc, r * nc + c + 1)
            ax.imshow(img, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title('frame' if c == 0 else names[c - 1], fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, path)


def read_scalars(path: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Read mmengine's ``scalars.json`` (one JSON dict per line, with ``step``).

    Args:
        path (str): ``<work_dir>/<timestamp>/vis_data/scalars.json``.

    Returns:
        dict[str, tuple[np.ndarray, np.ndarray]]: key → (steps, values), sorted by
        step; non-numeric values and unparsable lines are skipped.
    """
    series: Dict[str, List[Tuple[float, float]]] = {}
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            step = rec.get('step', rec.get('iter'))
            if step is None:
                continue
            for k, v in rec.items():
                if k in ('step', 'iter', 'epoch') or isinstance(v, bool) or \
                        not isinstance(v, (int, float)):
                    continue
                series.setdefault(k, []).append((float(step), float(v)))
    out = {}
    for k, pts in series.items():
        pts.sort(key=lambda p: p[0])
        arr = np.asarray(pts, np.float64)
        out[k] = (arr[:, 0], arr[:, 1])
    return out


def find_scalars(work_dir: str) -> Optional[str]:
    """Newest ``vis_data/scalars.json`` under an mmengine work dir (or None)."""
    found = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    return max(found, key=osp.getmtime) if found else None


def save_curves(path: str, runs: Dict[str, str],
                keys: Sequence[str] = ('loss', 'probe/acc'),
                title: str = 'training curves') -> str:
    """Plot scalar curves of several runs, one panel per key.

    Args:
        path (str): Output PNG.
        runs (dict[str, str]): Run name → ``scalars.json`` path.
        keys (Sequence[str]): Scalar keys, one panel each (a missing key gives an
            empty panel saying so).
        title (str): Figure title.

    Returns:
        str: ``path``.
    """
    from matplotlib.figure import Figure
    data = {name: read_scalars(p) for name, p in runs.items()}
    fig = Figure(figsize=(4.2 * len(keys), 3.2))
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        drawn = False
        for name, series in data.items():
            if key in series:
                steps, vals = series[key]
                ax.plot(steps, vals, marker='o' if len(steps) < 20 else None,
                        markersize=3, label=name)
                drawn = True
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, f'no "{key}" logged', ha='center', va='center',
                    transform=ax.transAxes)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, path)


def make_demo_pictures(pic_dir: str, frames: Sequence[np.ndarray],
                       feats: Dict[str, list], work_dirs: Dict[str, str],
                       pico_cfg: str, val_tracks: Sequence[str]) -> Dict[str, str]:
    """The demo's pictures: tracks GIF, a PiCo view pair, PCA-RGB, curves.

    The GIF and the view pair come from ``tools/vis/show_tracks.py`` and
    ``tools/vis/show_views.py`` (run as a user would); a failing one is a warning.

    Args:
        pic_dir (str): Output folder.
        frames (Sequence[np.ndarray]): H×W×3 uint8 BGR frames of the PCA figure.
        feats (dict): ``{model: [C×h×w embedding per frame]}``.
        work_dirs (dict): ``{run: training work dir}`` (curves from scalars.json).
        pico_cfg (str): PiCo run config (for the view pair).
        val_tracks (Sequence[str]): Held-out track files (the GIF uses the first).

    Returns:
        dict: ``{picture name: path}`` of the pictures written.
    """
    from .stages import DemoError, python_cmd, run_tool
    vis = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                   'tools', 'vis')
    os.makedirs(pic_dir, exist_ok=True)
    pics = {}
    gif = osp.join(pic_dir, 'tracks.gif')
    views = osp.join(pic_dir, 'views.png')
    for name, out, cmd, desc in (
            ('tracks (GIF)', gif, python_cmd(
                osp.join(vis, 'show_tracks.py'), val_tracks[0], gif, '--frames',
                '0:60', '--max-tracks', 150), 'show_tracks'),
            ('view pair (PNG)', views, python_cmd(
                osp.join(vis, 'show_views.py'), pico_cfg, '--out', views),
             'show_views')):
        try:
            run_tool(cmd, desc)
            pics[name] = out
        except DemoError as e:
            print(f'warning: {e}')
    if len(frames):
        pics['PCA-RGB (PNG)'] = save_pca_figure(
            osp.join(pic_dir, 'pca_features.png'), frames, feats,
            title='PCA-RGB of the dense embedding, held-out frames')
    runs = {n: find_scalars(d) for n, d in work_dirs.items()}
    runs = {n: p for n, p in runs.items() if p}
    if runs:
        pics['curves (PNG)'] = save_curves(
            osp.join(pic_dir, 'curves.png'), runs,
            keys=('loss', 'probe/acc', 'exact_gt/all@1'),
            title='training loss, tracks probe (moving points of held-out videos) '
            'and exact-GT accuracy (val split)')
    return pics
