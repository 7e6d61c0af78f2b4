"""The B5 correspondence probe as a training hook."""
import glob
import math
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmselfsup.registry import HOOKS

from pico_mm.evaluation.correspondence_probe import (ProbePair,
                                                     probe_pairs_from_tracks,
                                                     run_probe)


def model_embed_fn(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap a PiCo-style model as ``uint8 BGR N×3×H×W -> N×C×h×w`` embedding.

    The model's own data preprocessor converts BGR→RGB and normalises; then
    ``model(inputs, mode='tensor')`` returns the dense embedding (a tensor, or a
    tuple/list whose first item is it).

    Args:
        model (torch.nn.Module): mmselfsup model (DDP wrappers are unwrapped).

    Returns:
        Callable: The embedding function (call it under ``torch.no_grad``).
    """
    if is_model_wrapper(model):
        model = model.module

    def embed(batch: torch.Tensor) -> torch.Tensor:
        data = model.data_preprocessor(
            dict(inputs=[batch], data_samples=None), False)
        inputs = data['inputs'] if isinstance(data, dict) else data[0]
        out = model(inputs, mode='tensor')
        while isinstance(out, (list, tuple)):
            out = out[0]
        return out.float().cpu()

    return embed


def evaluate_model(model: torch.nn.Module, pairs: Sequence[ProbePair],
                   radius: Optional[float] = None, batch_size: int = 4) -> dict:
    """Probe a model in eval mode, then restore its train/eval state.

    Returns:
        dict: ``acc``, ``hits``, ``pairs``, ``chance`` (see ``run_probe``).
    """
    net = model.module if is_model_wrapper(model) else model
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return run_probe(model_embed_fn(net), pairs, radius, batch_size)
    finally:
        net.train(was_training)


@HOOKS.register_module()
class CorrespondenceProbeHook(Hook):
    """B5 probe: nearest-neighbour correspondence accuracy on held-out tracks.

    Every ``interval`` training iterations and at the end of training, embeds frame
    pairs of held-out videos with the model's ``tensor`` mode and measures the
    fraction of tracked points whose cosine nearest neighbour over the whole other
    frame lies within ``radius`` pixels (default one feature cell) of the tracked
    position (see :mod:`pico_mm.evaluation.correspondence_probe`). Runs on the
    main process only (the same pairs on every rank would give the same number). Logs
    ``probe/acc`` (and ``probe/chance``) to the visualizer backends (``scalars.json``,
    tensorboard), to ``runner.message_hub`` and to the log.

    Args:
        tracks (str | list[str]): Folder searched recursively for ``.npz`` track
            files, or a list of track files (held-out videos, not training ones).
        interval (int): Probe every ``interval`` iterations; 0 = only at train end.
        gap (int): Frames between the two frames of a pair.
        pairs_per_video (int): Frame pairs per video.
        points_per_pair (int): Maximum tracked points per pair.
        radius (float, optional): Hit radius in pixels; None = one feature cell.
        seed (int): Seed of the point subsampling (fixed: same pairs every time).
        source_root (str, optional): Folder to resolve relative video paths.
        before_train (bool): Also probe the initial network before iteration 1.
        batch_size (int): Frame pairs per forward pass.
    """

    priority = 'LOW'

    def __init__(self,
                 tracks: Union[str, List[str]],
                 interval: int = 100,
                 gap: int = 15,
                 pairs_per_video: int = 4,
                 points_per_pair: int = 256,
                 radius: Optional[float] = None,
                 seed: int = 0,
                 source_root: Optional[str] = None,
                 before_train: bool = True,
                 batch_size: int = 4) -> None:
        self.tracks = tracks
        self.interval = interval
        self.gap = gap
        self.pairs_per_video = pairs_per_video
        self.points_per_pair = points_per_pair
        self.radius = radius
        self.seed = seed
        self.source_root = source_root
        self.probe_before_train = before_train
        self.batch_size = batch_size
        self._pairs: Optional[List[ProbePair]] = None
        self._last_iter = -1

    def _track_files(self) -> List[str]:
        if isinstance(self.tracks, str):
            if osp.isfile(self.tracks):
                return [self.tracks]
            if not osp.isdir(self.tracks):
                raise FileNotFoundError(
                    f'CorrespondenceProbeHook: {self.tracks} is neither a track '
                    'file nor a folder; run tools/data/track_points.py on the '
                    'held-out videos and pass its output folder as `tracks`')
            files = sorted(glob.glob(osp.join(self.tracks, '**', '*.npz'),
                                     recursive=True))
        else:
            files = list(self.tracks)
        if not files:
            raise FileNotFoundError(
                f'CorrespondenceProbeHook: no .npz track files in {self.tracks}; '
                'run tools/data/track_points.py on the held-out videos first')
        return files

    def before_train(self, runner) -> None:
        """Load the probe pairs once (frames + tracked points), on rank 0."""
        if not is_main_process():
            return
        self._pairs = probe_pairs_from_tracks(
            self._track_files(), gap=self.gap,
            pairs_per_video=self.pairs_per_video,
            points_per_pair=self.points_per_pair, seed=self.seed,
            source_root=self.source_root)
        n_pts = sum(len(p.src) for p in self._pairs)
        runner.logger.info(
            f'CorrespondenceProbeHook: {len(self._pairs)} frame pairs, '
            f'{n_pts} tracked points (gap {self.gap} frames)')
        if self.probe_before_train:
            self._probe(runner, step=runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Probe every ``interval`` iterations."""
        if self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self._probe(runner, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        """Probe the final network (unless just done at the last iteration)."""
        if self._last_iter != runner.iter:
            self._probe(runner, step=runner.iter)

    def _probe(self, runner, step: int) -> Optional[dict]:
        if not is_main_process():  # one probe per job; other ranks wait at DDP
            return None
        if self._pairs is None:
            self.before_train(runner)
        res = evaluate_model(runner.model, self._pairs, self.radius,
                             self.batch_size)
        self._last_iter = step
        scalars = {'probe/acc': res['acc'], 'probe/chance': res['chance']}
        for k, v in scalars.items():
            runner.message_hub.update_scalar(k, v)
        if not math.isnan(res['acc']):
            runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(
            f'probe (B5) iter {step}: acc {res["acc"]:.4f} '
            f'({res["hits"]}/{res["pairs"]} points, chance {res["chance"]:.4f})')
        return res
