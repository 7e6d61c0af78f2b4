"""Let mmengine 0.10.7 load its own checkpoints under torch >= 2.6.

torch 2.6 switched ``torch.load`` to ``weights_only=True``. mmengine 0.10.7
(``mmengine/runner/checkpoint.py``) still calls ``torch.load(filename,
map_location=...)``, and the checkpoints its ``CheckpointHook`` writes hold
more than tensors: ``message_hub`` keeps :class:`HistoryBuffer` objects with
numpy arrays and scalars, and each buffer pickles its statistics methods as
``getattr(HistoryBuffer, 'min')``. Resuming (``resume=True``,
``tools/train.py --resume``) therefore fails with
``UnpicklingError: Weights only load failed``.

Instead of turning the check off (``weights_only=False``) this module
allow-lists exactly those types with :func:`torch.serialization.add_safe_globals`:

* ``mmengine.logging.history_buffer.HistoryBuffer``;
* numpy's array/scalar reconstruction (``ndarray``, ``_reconstruct``,
  ``scalar``, ``dtype`` and its per-type dtype classes);
* ``builtins.getattr`` **replaced by a restricted version** that only
  resolves ``HistoryBuffer``'s registered statistics methods, so no other
  attribute lookup is possible while unpickling.

It is applied by ``import pico_mm`` (so MMSeg/MMDet tools that load pico_mm
through ``custom_imports`` get it too) and is idempotent. The upstream fix is
mmengine PR #1670 (after 0.10.7); once mmengine passes ``weights_only=False``
itself, this becomes a no-op.
"""
import builtins

import torch

_APPLIED = False


def _history_buffer_getattr(obj, name):
    """``getattr`` limited to ``HistoryBuffer`` statistics methods.

    Args:
        obj: the object the pickle asks an attribute of.
        name (str): attribute name.

    Returns:
        The attribute, only for ``HistoryBuffer.<registered statistic>``.

    Raises:
        pickle.UnpicklingError: for anything else.
    """
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = set(HistoryBuffer._statistics_methods) | {
        'min', 'max', 'current', 'mean'}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'pico_mm checkpoint_compat: refusing getattr({obj!r}, {name!r}) '
        'while loading a checkpoint; only HistoryBuffer statistics are allowed.')


def apply_checkpoint_compat():
    """Allow-list the non-tensor types of mmengine checkpoints (idempotent).

    Returns:
        bool: True if the allow-list is active (torch has
        ``add_safe_globals`` and mmengine is importable), else False.
    """
    global _APPLIED
    if _APPLIED:
        return True
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False  # torch < 2.4 loads with weights_only=False anyway
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
    except ImportError:
        return False
    from .safe_load import numpy_safe_globals
    torch.serialization.add_safe_globals(
        [HistoryBuffer, *numpy_safe_globals(),
         (_history_buffer_getattr, f'{builtins.__name__}.getattr')])
    _APPLIED = True
    return True
