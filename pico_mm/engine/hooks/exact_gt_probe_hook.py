"""The exact ground-truth correspondence benchmark as a training hook."""
from typing import Dict, Optional, Sequence, Tuple

from mmselfsup.registry import HOOKS

from pico_mm.evaluation.exact_gt_benchmark import exact_gt_columns, run_exact_gt
from pico_mm.evaluation.exact_gt_pairs import ExactPairSet, make_pair_set
from .probe_hook_base import PeriodicProbeHook, model_embed_fn

__all__ = ['ExactGTProbeHook']


@HOOKS.register_module()
class ExactGTProbeHook(PeriodicProbeHook):
    """Exact-GT benchmark (real photographs under known warps) during training.

    Generates the fixed pair set of ``split`` once (see
    :func:`pico_mm.evaluation.make_pair_set`), then every ``interval`` iterations
    and at the end of training scores the model's dense embedding (``tensor``
    mode) with :func:`pico_mm.evaluation.run_exact_gt`: nearest-neighbour accuracy
    on points that moved more than the radius, per kind and over both. Logs
    ``exact_gt/<group>@<r>`` (``group`` in ``rigid``, ``nonrigid``, ``all``; ``r``
    in feature cells) and ``exact_gt/chance@<r>``, ``exact_gt/zero_motion@<r>`` of
    ``all``. Use the ``val`` split while choosing settings; report ``test``.

    Args:
        split (str): ``'val'`` or ``'test'``.
        pairs_per_kind (int): Pairs of each kind (rigid, non-rigid).
        size (tuple[int, int]): ``(H, W)`` of the frames.
        points_per_pair (int): Points per pair.
        radii (Sequence[float]): Hit radii in feature cells.
        seed (int, optional): Pair-set seed (default: the split's fixed seed).
        interval (int): Probe every ``interval`` iterations; 0 = only at train end.
        before_train (bool): Also probe the initial network before iteration 1.
        batch_size (int): Pairs per forward pass.
    """

    log_name = 'exact-GT'

    def __init__(self,
                 split: str = 'val',
                 pairs_per_kind: int = 16,
                 size: Tuple[int, int] = (128, 160),
                 points_per_pair: int = 256,
                 radii: Sequence[float] = (1, 2),
                 seed: Optional[int] = None,
                 interval: int = 100,
                 before_train: bool = True,
                 batch_size: int = 8) -> None:
        super().__init__(interval=interval, before_train=before_train)
        self.split = split
        self.pairs_per_kind = pairs_per_kind
        self.size = tuple(size)
        self.points_per_pair = points_per_pair
        self.radii = tuple(radii)
        self.seed = seed
        self.batch_size = batch_size
        self._set: Optional[ExactPairSet] = None

    def prepare(self, runner) -> None:
        """Generate the pair set (deterministic; about 20 ms per pair)."""
        self._set = make_pair_set(self.split, self.pairs_per_kind, self.size,
                                  self.points_per_pair, self.seed)
        d = self._set.describe()
        runner.logger.info(
            f'ExactGTProbeHook: {d["split"]} split v{d["version"]} seed '
            f'{d["seed"]}, {len(self._set.pairs)} pairs, {d["points"]} points, '
            f'fingerprint {d["fingerprint"]}')

    def evaluate(self, runner, model) -> Tuple[Dict[str, float], str]:
        """Score the model; scalars per kind and radius."""
        res = run_exact_gt(model_embed_fn(model), self._set, self.radii,
                           self.batch_size)
        acc = exact_gt_columns(res)
        scalars = {f'exact_gt/{k}': v for k, v in acc.items()}
        for r in res['radii_cells']:
            s = res['scores']['all'][f'{r:g}']
            scalars[f'exact_gt/chance@{r:g}'] = s['chance']
            scalars[f'exact_gt/zero_motion@{r:g}'] = s['zero_motion']
        r0 = f'{min(res["radii_cells"]):g}'
        text = ' '.join(f'{k} {v:.4f}' for k, v in acc.items())
        text += (f' (moving points, {self.split} split; chance@{r0} '
                 f'{scalars["exact_gt/chance@" + r0]:.4f}, no motion@{r0} '
                 f'{scalars["exact_gt/zero_motion@" + r0]:.4f})')
        return scalars, text
