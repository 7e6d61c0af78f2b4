"""The B5 correspondence probe (held-out tracks) as a training hook."""
import glob
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmselfsup.registry import HOOKS

from pico_mm.evaluation.correspondence_probe import (ProbePair,
                                                     probe_pairs_from_tracks,
                                                     run_probe)
from .probe_hook_base import PeriodicProbeHook, eval_mode, model_embed_fn

__all__ = ['CorrespondenceProbeHook', 'evaluate_model', 'model_embed_fn']


def evaluate_model(model: torch.nn.Module, pairs: Sequence[ProbePair],
                   radius: Optional[float] = None, batch_size: int = 4) -> dict:
    """Probe a model in eval mode, then restore its train/eval state.

    Returns:
        dict: see :func:`pico_mm.evaluation.run_probe` (headline over the points
        that moved more than the radius; ``all`` / ``static`` subsets inside).
    """
    with eval_mode(model) as net:
        return run_probe(model_embed_fn(net), pairs, radius, batch_size)


def format_probe(res: dict) -> str:
    """One-line summary: moving (headline), all and static points."""
    def part(name, r):
        return f'{name} {r["acc"]:.4f} ({r["hits"]}/{r["pairs"]})'
    return (f'{part("moving", res["moving"])}, chance {res["chance"]:.4f}, no '
            f'motion {res["zero_motion"]:.4f}; {part("all", res["all"])}; '
            f'{part("static", res["static"])}')


@HOOKS.register_module()
class CorrespondenceProbeHook(PeriodicProbeHook):
    """B5 probe: nearest-neighbour correspondence accuracy on held-out tracks.

    Every ``interval`` training iterations and at the end of training, embeds frame
    pairs of held-out videos with the model's ``tensor`` mode and measures the
    fraction of tracked points whose cosine nearest neighbour over the whole other
    frame lies within ``radius`` pixels (default one feature cell) of the tracked
    position (see :mod:`pico_mm.evaluation.correspondence_probe`). The headline
    ``probe/acc`` counts only points that moved more than the radius between the two
    frames (position-only features cannot score there); ``probe/acc_all`` and
    ``probe/acc_static`` are logged beside it, with ``probe/chance`` and
    ``probe/zero_motion`` (predicting no motion) of the moving points.

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

    log_name = 'probe (B5)'

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
        super().__init__(interval=interval, before_train=before_train)
        self.tracks = tracks
        self.gap = gap
        self.pairs_per_video = pairs_per_video
        self.points_per_pair = points_per_pair
        self.radius = radius
        self.seed = seed
        self.source_root = source_root
        self.batch_size = batch_size
        self._pairs: Optional[List[ProbePair]] = None

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

    def prepare(self, runner) -> None:
        """Load the probe pairs once (frames + tracked points)."""
        self._pairs = probe_pairs_from_tracks(
            self._track_files(), gap=self.gap,
            pairs_per_video=self.pairs_per_video,
            points_per_pair=self.points_per_pair, seed=self.seed,
            source_root=self.source_root)
        n_pts = sum(len(p.src) for p in self._pairs)
        runner.logger.info(
            f'CorrespondenceProbeHook: {len(self._pairs)} frame pairs, '
            f'{n_pts} tracked points (gap {self.gap} frames)')

    def evaluate(self, runner, model) -> Tuple[Dict[str, float], str]:
        """Run the probe; scalars ``probe/acc`` (moving points) and the others."""
        res = run_probe(model_embed_fn(model), self._pairs, self.radius,
                        self.batch_size)
        scalars = {'probe/acc': res['acc'], 'probe/chance': res['chance'],
                   'probe/zero_motion': res['zero_motion'],
                   'probe/acc_all': res['all']['acc'],
                   'probe/acc_static': res['static']['acc']}
        return scalars, format_probe(res)
