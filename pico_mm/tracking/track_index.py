"""Seek-reading view of a format-2 track file (:mod:`.track_format`).

:class:`TrackIndex` reads, in three reads, the layout, then the header,
``start`` and ``frame_ptr``, then rows 0..s of ``lengths`` (s: the row of the
configured alpha/beta; 1 for the base configs): ``(2 + 2 (s + 1)) N + 4 T``
bytes plus ~3 KB. Then only the rows of the frames asked for (4 bytes per
point), one read each. A (alpha, beta) outside
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
            span = self._span('header', 'frame_ptr')  # one read
            header = json.loads(span['header'].decode())
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
        self.start = np.frombuffer(span['start'], tdt).astype(np.int64)
        self._ptr = np.frombuffer(span['frame_ptr'],
                                  header['dtypes']['ptr']).astype(np.int64)
        if self.start.size != n or self._ptr.size != self.num_frames + 1:
            raise track_file_error(self.path, 'inconsistent member sizes')
        self.length0, self.length = self._lengths(alpha, beta, tdt)
        self.end0 = self.start + self.length0 - 1
        self.end = self.start + self.length - 1
        a0, b0 = header['sweep'][0]
        self.meta = dict(self.meta, alpha=self.alpha, beta=self.beta,
                         extraction_alpha=self.meta.get(
                             'extraction_alpha', a0),
                         extraction_beta=self.meta.get('extraction_beta', b0))

    def _span(self, first: str, last: str) -> Dict[str, bytes]:
        """Data of the members ``first`` to ``last`` (file order), one read."""
        i, j = MEMBERS.index(first), MEMBERS.index(last)
        lo = int(self._layout[i, 0])
        hi = int(self._layout[j, 0] + self._layout[j, 1])
        if not 0 < lo <= hi:
            raise track_file_error(self.path, 'bad layout (corrupt file)')
        data = self._pread(lo, hi - lo)
        return {MEMBERS[k]: data[int(self._layout[k, 0]) - lo:int(
            self._layout[k, 0] + self._layout[k, 1]) - lo]
                for k in range(i, j + 1)}

    def _lengths(self, alpha, beta, tdt):
        """Lengths at the extraction values and at (alpha, beta): rows 0..s
        of ``lengths`` in one read when stored, else the cache beside the
        file, else computed once from the terms."""
        sweep = [tuple(p) for p in self.header['sweep']]
        a0, b0 = sweep[0]
        self.alpha = a0 if alpha is None else float(alpha)
        self.beta = b0 if beta is None else float(beta)
        key = (self.alpha, self.beta)
        n = self.num_tracks
        s = sweep.index(key) if key in sweep else 0
        rows = self._array('lengths', tdt, 0, s + 1, n).reshape(s + 1, n)
        rows = rows.astype(np.int64)
        if key in sweep:
            return rows[0], rows[s]
        cache = cache_path(self.path, self.header['uid'], *key)
        if osp.isfile(cache):
            lengths = np.load(cache, allow_pickle=False)
            self.bytes_read += os.path.getsize(cache)
            if lengths.shape == (n, ):
                return rows[0], lengths.astype(np.int64)
        return rows[0], self._compute(cache, tdt)

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
