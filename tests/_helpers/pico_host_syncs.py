"""Count host synchronisations on CPU (not a test).

``torch.cuda.set_sync_debug_mode`` needs CUDA; on CPU every Python-level
operation that would make the host wait for a tensor's value on a GPU is
counted instead: ``item``, ``tolist``, ``cpu``, ``numpy``, ``bool``/``int``/
``float``/``index`` of a tensor, ``nonzero``, ``masked_select``,
``torch.equal``/``allclose``/``is_nonzero``, and indexing with a boolean mask
(it runs ``nonzero``). Operations inside C++ code are not seen.
"""
import traceback

import torch

_METHODS = ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__int__',
            '__float__', '__index__', 'nonzero', 'masked_select')
_FUNCTIONS = ('nonzero', 'masked_select', 'equal', 'allclose', 'is_nonzero')


def _is_bool_index(index):
    items = index if isinstance(index, tuple) else (index, )
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool
               for i in items)


def count_host_syncs(setattr_fn):
    """Wrap the operations above; return the list they append to.

    Args:
        setattr_fn: ``setattr``-like function used to install the wrappers
            (pytest's ``monkeypatch.setattr`` to undo them after a test, or
            the builtin ``setattr`` in a worker process).

    Returns:
        list[tuple[str, str]]: (operation, ``'file:line function'`` of its
        caller), appended to while the wrappers are installed.
    """
    seen = []
    busy = [False]

    def wrap(owner, name, when=None):
        orig = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if not busy[0] and (when is None or when(*args)):
                busy[0] = True  # do not count what this wrapper calls
                frame = traceback.extract_stack(limit=2)[0]  # the caller
                seen.append((name, f'{frame.filename.rsplit("/", 1)[-1]}:'
                             f'{frame.lineno} {frame.name}'))
                busy[0] = False
            return orig(*args, **kwargs)

        setattr_fn(owner, name, wrapper)

    for name in _METHODS:
        wrap(torch.Tensor, name)
    for name in _FUNCTIONS:
        wrap(torch, name)
    wrap(torch.Tensor, '__getitem__', lambda self, index: _is_bool_index(index))
    wrap(torch.Tensor, '__setitem__',
         lambda self, index, *rest: _is_bool_index(index))
    return seen
