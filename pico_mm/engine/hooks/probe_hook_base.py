"""Shared machinery of the probe hooks: embedding a model, periodic probing, logging."""
import math
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

__all__ = ['model_embed_fn', 'eval_mode', 'PeriodicProbeHook']


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


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Unwrapped model in eval mode under ``no_grad``; train state restored after."""
    net = model.module if is_model_wrapper(model) else model
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield net
    finally:
        net.train(was_training)


class PeriodicProbeHook(Hook):
    """Base of hooks that score the model every ``interval`` iterations.

    Subclasses implement :meth:`prepare` (load the probe data once) and
    :meth:`evaluate` (score the model in eval mode, return scalars and the text of
    the log line ``<log_name> iter <step>: <text>``).
    Runs on the main process only; scalars go to the visualizer backends
    (``scalars.json``, tensorboard; NaN values are skipped), to
    ``runner.message_hub`` and to the log.

    Args:
        interval (int): Probe every ``interval`` iterations; 0 = only at train end.
        before_train (bool): Also probe the initial network before iteration 1.
    """

    priority = 'LOW'
    log_name = 'probe'

    def __init__(self, interval: int = 100, before_train: bool = True) -> None:
        self.interval = interval
        self.probe_before_train = before_train
        self._ready = False
        self._last_iter = -1

    def prepare(self, runner) -> None:
        """Load the probe data (called once, on the main process)."""
        raise NotImplementedError

    def evaluate(self, runner, model: torch.nn.Module) -> Tuple[Dict[str, float], str]:
        """Score ``model`` (eval mode, no grad); returns ``(scalars, log text)``."""
        raise NotImplementedError

    def before_train(self, runner) -> None:
        """Load the probe data once and probe the initial network, on rank 0."""
        if not is_main_process():
            return
        self.prepare(runner)
        self._ready = True
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

    def _probe(self, runner, step: int) -> Optional[Dict[str, float]]:
        if not is_main_process():  # one probe per job; other ranks wait at DDP
            return None
        if not self._ready:
            self.prepare(runner)
            self._ready = True
        with eval_mode(runner.model) as net:
            scalars, text = self.evaluate(runner, net)
        self._last_iter = step
        for k, v in scalars.items():
            runner.message_hub.update_scalar(k, v)
        finite = {k: v for k, v in scalars.items() if math.isfinite(v)}
        if finite:
            runner.visualizer.add_scalars(finite, step=step)
        runner.logger.info(f'{self.log_name} iter {step}: {text}')
        return scalars
