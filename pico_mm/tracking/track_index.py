"""Seek-reading view of a format-2 track file (:mod:`.track_format`).

:class:`TrackIndex` reads the layout, the header, ``start``, ``frame_ptr``
and two rows of ``lengths`` (``6 N + 4 T`` bytes plus ~2 KB), and then only
the rows of the frames asked for (4 bytes per point). A (alpha, beta) outside
the stored sweep is computed once from the terms and cached beside the file
(``<file>.<uid>.a<alpha>-b<beta>.npy``, temp + rename).
"""
import contextlib
import io
import json
import logging
import os
import os.path as osp
import struct
from typing import Dict, Optional

import numpy as np

from .track_format import (MEMBERS, TrackFileError, _data_offset,
                           track_file_error, write_bytes_atomic)

_HEAD_READ = 1024
_log = logging.getLogger(__name__)
_warned_cache = False


class TrackIndex:
    """Seek-reading view of a format-2 track file at one (alpha, beta).

    Duck-types what :mod:`pico_mm.tracking.sampling` needs from
    :class:`Tracks` (``start``, ``length``, ``end``, ``num_frames``,
    ``num_tracks``, ``positions``) plus ``frame_size`` and ``meta``, but
    reads positions only for the frames asked for.

    Args:
        path (str): Format-2 ``.npz``.
        alpha (float, optional): Consistency alpha (None: extraction value).
        beta (float, optional): Consistency beta (None: extraction value).

    Attributes:
        bytes_read (int): Bytes read from the file so far.
        computed (bool): The lengths at (alpha, beta) were computed from the
            terms now (not stored in the file nor cached beside it).
    """

    def __init__(self, path: str, alpha: Optional[float] = None,
                 beta: Optional[float] = None) -> None:
        self.path = path
        self.bytes_read = 0
        self.computed = False
        self._rows: Dict[int, np.ndarray] = {}
        with self._file():
            self._open(alpha, beta)

    @contextlib.contextmanager
    def _file(self):
        """Open the file as ``self._fd`` for the reads inside the block."""
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise TrackFileError(
                f'{self.path}: track file not found; run tools/data/'
                'track_points.py FLOW_DIR OUT_DIR to create it') from None
        if hasattr(os, 'posix_fadvise'):  # small scattered reads: no
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_RANDOM)  # readahead
        try:
            yield
        finally:
            os.close(self._fd)
            self._fd = None

    def _pread(self, off: int, n: int) -> bytes:
        data = os.pread(self._fd, n, off)
        self.bytes_read += len(data)
        if len(data) != n:
            raise track_file_error(self.path, f'truncated ({n} bytes at '
                                   f'{off} asked, {len(data)} read)')
        return data

    def _array(self, name: str, dtype, lo: int = 0, hi: Optional[int] = None,
               row: int = 1) -> np.ndarray:
        """Elements ``[lo, hi)`` (in units of ``row`` elements) of a member."""
        off, nbytes = self._layout[MEMBERS.index(name)]
        size = np.dtype(dtype).itemsize * row
        hi = nbytes // size if hi is None else hi
        if lo < 0 or hi * size > nbytes or lo > hi:
            raise track_file_error(self.path, f'{name} rows {lo}:{hi} out of '
                                   'range (corrupt file)')
        return np.frombuffer(self._pread(off + lo * size, (hi - lo) * size),
                             dtype)

    def _open(self, alpha, beta) -> None:
        head = os.pread(self._fd, _HEAD_READ, 0)
        try:
            off, name = _data_offset(head, 0)
            if name != 'layout.npy':
                raise ValueError(f'first member is {name}')
            m = len(MEMBERS)
            if off + m * 16 > len(head):
                head += os.pread(self._fd, off + m * 16 - len(head),
                                 len(head))
            self._layout = np.frombuffer(head[off:off + m * 16],
                                         '<i8').reshape(m, 2)
            self.bytes_read += len(head)
            hdr = self._array('header', np.uint8).tobytes()
            header = json.loads(hdr.decode())
        except TrackFileError:
            raise
        except (ValueError, struct.error, UnicodeDecodeError) as e:
            raise track_file_error(self.path, f'not a format-2 track file or '
                                   f'corrupt ({e})') from None
        self.header = header
        self.meta = header['meta']
        self.num_frames = int(header['num_frames'])
        self.frame_size = tuple(int(v) for v in header['frame_size'])
        self.num_tracks = n = int(header['num_tracks'])
        self.scale = float(header['coord_scale'])
        tdt = np.dtype(header['dtypes']['index'])
        self.start = self._array('start', tdt).astype(np.int64)
        self._ptr = self._array('frame_ptr', header['dtypes']['ptr']).astype(
            np.int64)
        self.length0 = self._array('lengths', tdt, 0, 1, n).astype(np.int64)
        if (self.start.size != n or self._ptr.size != self.num_frames + 1
                or self.length0.size != n):
            raise track_file_error(self.path, 'inconsistent member sizes')
        self.length = self._lengths(alpha, beta, tdt)
        self.end0 = self.start + self.length0 - 1
        self.end = self.start + self.length - 1
        a0, b0 = header['sweep'][0]
        self.meta = dict(self.meta, alpha=self.alpha, beta=self.beta,
                         extraction_alpha=self.meta.get(
                             'extraction_alpha', a0),
                         extraction_beta=self.meta.get('extraction_beta', b0))

    def _lengths(self, alpha, beta, tdt) -> np.ndarray:
        sweep = [tuple(p) for p in self.header['sweep']]
        a0, b0 = sweep[0]
        self.alpha = a0 if alpha is None else float(alpha)
        self.beta = b0 if beta is None else float(beta)
        key = (self.alpha, self.beta)
        n = self.num_tracks
        if key == (a0, b0):
            return self.length0
        if key in sweep:
            s = sweep.index(key)
            return self._array('lengths', tdt, s, s + 1, n).astype(np.int64)
        cache = cache_path(self.path, self.header['uid'], *key)
        if osp.isfile(cache):
            lengths = np.load(cache, allow_pickle=False)
            self.bytes_read += os.path.getsize(cache)
            if lengths.shape == (n, ):
                return lengths.astype(np.int64)
        return self._compute(cache, tdt)

    def _compute(self, cache: str, tdt) -> np.ndarray:
        from .track_file import load_tracks  # slow path: the whole file
        tracks = load_tracks(self.path, self.alpha, self.beta)
        self.bytes_read += os.path.getsize(self.path)
        self.computed = True
        lengths = tracks.length.astype(np.int64)
        buf = io.BytesIO()
        np.save(buf, lengths.astype(tdt), allow_pickle=False)
        try:
            write_bytes_atomic(cache, buf.getvalue())
        except OSError as e:
            global _warned_cache
            if not _warned_cache:
                _warned_cache = True
                _log.warning(
                    '%s: cannot cache the tracks at alpha=%s, beta=%s beside '
                    'the file (%s), so every sample of this file re-reads it '
                    'whole; add the point to the files once with python '
                    'tools/data/convert_tracks.py TRACK_DIR --sweep %s,%s '
                    '(shown once)', self.path, self.alpha, self.beta, e,
                    self.alpha, self.beta)
        return lengths

    def _frame_rows(self, frame: int) -> np.ndarray:
        if frame not in self._rows:
            lo, hi = int(self._ptr[frame]), int(self._ptr[frame + 1])
            with self._file():
                rows = self._array('xy', np.uint16, lo, hi, 2).reshape(-1, 2)
            self._rows[frame] = rows
        return self._rows[frame]

    def positions(self, ids: np.ndarray, frame: int) -> np.ndarray:
        """Positions of tracks ``ids`` (all alive on ``frame``) at ``frame``.

        Reads only the rows of ``frame`` (4 bytes per track alive on it).

        Args:
            ids (np.ndarray): M track indices.
            frame (int): Frame index.

        Returns:
            np.ndarray: M×2 float32 ``(x, y)``.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros((0, 2), np.float32)
        if not 0 <= frame < self.num_frames:
            raise ValueError(f'frame {frame} outside [0, {self.num_frames})')
        if ids.size and (np.any(self.start[ids] > frame)
                         or np.any(self.end[ids] < frame)):
            raise ValueError(f'some tracks are not alive on frame {frame}')
        alive = (self.start <= frame) & (self.end0 >= frame)
        rows = self._frame_rows(frame)
        if rows.shape[0] != int(alive.sum()):
            raise track_file_error(self.path, f'frame {frame} has '
                                   f'{rows.shape[0]} rows, the table says '
                                   f'{int(alive.sum())} (corrupt file)')
        rank = np.cumsum(alive) - 1
        return rows[rank[ids]].astype(np.float32) / np.float32(self.scale)


def cache_path(path: str, uid: str, alpha: float, beta: float) -> str:
    """Beside-the-file cache of the lengths at a non-stored (alpha, beta)."""
    return f'{path}.{uid}.a{alpha!r}-b{beta!r}.npy'
