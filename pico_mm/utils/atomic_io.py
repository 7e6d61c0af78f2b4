"""Temp-then-rename writes: a killed process never leaves a half file.

Pure python; re-exported by :mod:`pico_mm.utils.batch_job`.
"""
import contextlib
import os
from typing import Iterator, List, Tuple

TMP_MARK = '.tmp'


def temp_path_for(path: str) -> str:
    """Temp name next to ``path``, keeping its extension (``np.savez`` safe).

    ``dir/a.zip`` -> ``dir/.a.zip.tmp<pid>.zip``.
    """
    d, base = os.path.split(path)
    ext = os.path.splitext(base)[1]
    return os.path.join(d, f'.{base}{TMP_MARK}{os.getpid()}{ext}')


def is_temp_path(path: str) -> bool:
    """True for names made by :func:`temp_path_for`."""
    base = os.path.basename(path)
    return base.startswith('.') and TMP_MARK in base


def list_outputs(root: str, suffix: str,
                 skip_hidden: bool = False) -> List[Tuple[str, str]]:
    """``(rel, path)`` of every ``*suffix`` file under ``root``.

    ``rel`` is relative to ``root`` with ``/`` separators (extension kept).
    Temp files of :func:`temp_path_for` are never listed (they keep the
    extension of the file they will become); ``skip_hidden`` also drops other
    dot-files (e.g. caches written beside the outputs). Order: a walk with
    sub-folders and names sorted (deterministic, the same on every machine).
    """
    found = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if (name.endswith(suffix) and not is_temp_path(path)
                    and not (skip_hidden and name.startswith('.'))):
                found.append((os.path.relpath(path, root).replace(os.sep, '/'),
                              path))
    return found


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temp path; on success ``os.replace`` it onto ``path``.

    On an exception the temp file is removed and the exception re-raised, so
    ``path`` is either absent/unchanged or complete.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise RuntimeError(f'worker wrote nothing for {path}')
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)


def remove_stale_temps(path: str) -> None:
    """Delete temp files a killed earlier run left next to ``path``."""
    d, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(d):
        return
    prefix = f'.{base}{TMP_MARK}'
    for name in os.listdir(d):
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(d, name))
