"""Load third-party checkpoint files without running their pickled code.

A ``.pth`` file is a pickle: ``torch.load(..., weights_only=False)`` runs any
code the file's author put in it. Checkpoints that pico_mm reads from
elsewhere (MoCo-v2 releases, MMFlow RAFT weights, files given to the model
converters) are therefore loaded with ``weights_only=True`` plus a short
allow-list of the non-tensor types such files really hold:

* numpy arrays, scalars and dtypes (training metadata);
* ``argparse.Namespace`` (the ``args`` of many research checkpoints);
* with mmengine installed, the types of mmengine's own checkpoints
  (:mod:`pico_mm.utils.checkpoint_compat`: ``HistoryBuffer`` and a
  ``getattr`` limited to its statistics).

Anything else is refused with one error naming the file. Full unpickling
happens only when the caller trusts the file: ``trust=True``, or the
process-wide switch :func:`trust_checkpoints` that the tools' explicit
``--trust-checkpoint`` flag turns on.

Imports only torch and numpy (inside the functions), so the flow core can use
it without mmengine.
"""
import os
from typing import Any, List, Optional

_TRUSTED = False
_REGISTERED = False
#: Marker torch puts in the error of a refused weights-only load.
_REFUSED_MARK = 'Weights only load failed'
TRUST_HINT = ('if you trust the file, pass --trust-checkpoint (this runs the '
              'code stored in it), or re-save its tensors once with '
              '"torch.save(torch.load(f, weights_only=False)[\'state_dict\'], '
              'out)" on a machine you trust')


class UntrustedCheckpointError(RuntimeError):
    """The file holds pickled objects outside the allow-list."""


def trust_checkpoints(flag: bool = True) -> None:
    """Process-wide default for ``trust`` (set by ``--trust-checkpoint``).

    Args:
        flag (bool): True lets :func:`load_checkpoint_file` fall back to full
            unpickling for files the allow-list refuses.
    """
    global _TRUSTED
    _TRUSTED = bool(flag)


def checkpoints_trusted() -> bool:
    """Current process-wide default (False unless a tool's flag set it)."""
    return _TRUSTED


def numpy_safe_globals() -> List[Any]:
    """numpy classes/callables that arrays, scalars and dtypes pickle to.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals`` (objects,
        and ``(object, 'old.module.name')`` pairs for numpy 1.x names).
    """
    import numpy as np
    try:  # numpy >= 2 renamed numpy.core to numpy._core
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    items = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    # numpy 1.x pickles these under the `numpy.core.multiarray` name.
    items += [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
              (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    return items


def _register_allow_list() -> None:
    """Add the allow-list to torch's weights-only globals (idempotent).

    Registered process-wide with ``add_safe_globals`` (as
    :mod:`pico_mm.utils.checkpoint_compat` does), not with the
    ``safe_globals`` context manager: leaving that context removes its
    entries again, including ones registered before it.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    import argparse

    import torch
    torch.serialization.add_safe_globals(numpy_safe_globals() +
                                         [argparse.Namespace])
    try:  # mmengine checkpoints (message hub): only when mmengine is there
        from .checkpoint_compat import apply_checkpoint_compat
        apply_checkpoint_compat()  # registers HistoryBuffer & co.
    except ImportError:
        pass
    _REGISTERED = True


def load_checkpoint_file(path: str, trust: Optional[bool] = None,
                         what: str = 'checkpoint') -> Any:
    """``torch.load`` a file safely (weights only + allow-list).

    Args:
        path (str): File to read (local path).
        trust (bool, optional): Allow full unpickling when the allow-list
            refuses the file. None: the process-wide default
            (:func:`trust_checkpoints`).
        what (str): What the file is, for messages (e.g. ``'MoCo checkpoint'``).

    Returns:
        The loaded object (tensors on CPU).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UntrustedCheckpointError: The file needs code execution and is not
            trusted; the message names the file and the two fixes.
        RuntimeError: The file is truncated or not a torch file.
    """
    import torch
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found; give the path of '
                                'an existing file')
    trust = checkpoints_trusted() if trust is None else bool(trust)
    _register_allow_list()
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - sorted out below
        first = (str(err).splitlines() or [''])[0]
        refused = _REFUSED_MARK in str(err)
        if not refused:
            raise RuntimeError(
                f'{path}: {what} cannot be read ({type(err).__name__}: '
                f'{first[:160]}); the file is truncated or not a torch '
                'checkpoint - copy or download it again') from None
        if not trust:
            detail = [ln.strip() for ln in str(err).splitlines()
                      if 'GLOBAL' in ln or 'Unsupported' in ln]
            raise UntrustedCheckpointError(
                f'{path}: refused to load this {what}: it holds pickled '
                f'Python objects outside the allow-list '
                f'({(detail or [first])[0][:160]}); {TRUST_HINT}') from None
    try:
        return torch.load(path, map_location='cpu', weights_only=False)
    except Exception as err:  # noqa: BLE001
        raise RuntimeError(f'{path}: {what} cannot be read even when trusted '
                           f'({type(err).__name__}: {err}); the file is '
                           'truncated or not a torch checkpoint') from None
