"""Track file format 2: a training sample reads only what it uses.

A format-2 file is still an uncompressed ``.npz`` (``np.load(path)`` reads
every member, no pickle), written so that a reader can seek into it: the
first member, ``layout``, holds the byte offset and size of every member's
raw data. Members, in file order (``MEMBERS``):

* ``layout``    int64 (M, 2): (offset, nbytes) of each member, this order.
* ``version``   int64 scalar, 2.
* ``header``    uint8, UTF-8 JSON: ``num_frames``, ``frame_size``,
  ``num_tracks``, ``num_points``, ``coord_scale``, ``sweep`` (list of
  ``[alpha, beta]``, row 0 the extraction values), ``dtypes``, ``uid``,
  ``meta``.
* ``start``     uint16 (uint32 past 65535 frames) (N,): first frame.
* ``frame_ptr`` uint32 (int64 past 2^32 points) (T+1,): rows of frame ``t``
  in ``xy`` are ``frame_ptr[t]:frame_ptr[t+1]``.
* ``lengths``   start's dtype (S, N): frames alive at each sweep point.
* ``xy``        uint16 (L, 2), **frame-major**: the rows of frame ``t`` are
  the positions of the tracks alive on ``t`` (at the extraction values) in
  increasing track id, ``(x, y) * coord_scale`` rounded to nearest.
* ``stop``      uint8 (N,): stop reason at the extraction values.
* ``terms``     float16 (L-N, 2): per-step consistency terms, track-major, as
  in format 1 (any stricter alpha/beta stays exact).

``coord_scale`` is the largest power of two with
``(max(H, W) - 1) * coord_scale <= 65535`` (64 up to 1024 px, 128 at 256p),
so a stored coordinate is within ``0.5 / coord_scale`` px of the tracker's
float32 value (1/128 px up to 1024 px).

The seeking reader is :class:`pico_mm.tracking.track_index.TrackIndex`.
"""
import io
import json
import os
import os.path as osp
import struct
import tempfile
import zipfile
import zlib
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .tracks import Tracks, consistency_ok

FORMAT_VERSION_2 = 2
MEMBERS = ('layout', 'version', 'header', 'start', 'frame_ptr', 'lengths',
           'xy', 'stop', 'terms')
#: (alpha, beta) of every shipped config (base 0.01/0.5, the ablations and
#: the extraction point of ``tools/data/track_points.py``).
SHIPPED_SWEEP = ((0.02, 1.0), (0.01, 0.5), (0.005, 0.5), (0.02, 0.5),
                 (0.01, 0.25), (0.01, 1.0))


class TrackFileError(ValueError):
    """A track file is missing, truncated, corrupt or of an unknown format."""


def track_file_error(path: str, why: str) -> TrackFileError:
    """One-line error naming the file and the fix (re-run track_points)."""
    return TrackFileError(
        f'{path}: {why}; re-run tools/data/track_points.py on its flow file '
        f'to regenerate it')


def coord_scale(frame_size: Sequence[int]) -> int:
    """Fixed-point scale of the coordinates of a ``(H, W)`` frame.

    Returns:
        int: Largest power of two ``s`` with ``(max(H, W) - 1) * s <= 65535``
        (at most 2**14); the rounding error is at most ``0.5 / s`` px.
    """
    top = max(int(frame_size[0]), int(frame_size[1])) - 1
    s = 1 << 14
    while s > 1 and top * s > 65535:
        s >>= 1
    if top * s > 65535:
        raise ValueError(f'frames of {frame_size} are too large for 16-bit '
                         'coordinates')
    return s


def lengths_at(start: np.ndarray, length: np.ndarray, terms: np.ndarray,
               alpha: float, beta: float) -> np.ndarray:
    """Track lengths after a stricter consistency test (as ``rethreshold``).

    Args:
        start (np.ndarray): N first frames.
        length (np.ndarray): N lengths at the extraction values.
        terms (np.ndarray): (L-N)×2 float16 step terms, track-major.
        alpha (float): Consistency alpha.
        beta (float): Consistency beta (px²).

    Returns:
        np.ndarray: N int64 lengths (a track is cut before its first failing
        step).
    """
    steps = np.asarray(length, np.int64) - 1
    out = steps + 1
    fail = np.flatnonzero(~consistency_ok(terms, alpha, beta))
    if fail.size:
        first_step = np.cumsum(steps) - steps
        ids = np.searchsorted(np.cumsum(steps), fail, side='right')
        tid, pos = np.unique(ids, return_index=True)
        out[tid] = fail[pos] - first_step[tid] + 1
    return out


def _sweep_for(meta: Dict, extra: Sequence = ()) -> List[Tuple[float, float]]:
    a0, b0 = float(meta['alpha']), float(meta['beta'])
    sweep = [(a0, b0)]
    for a, b in list(SHIPPED_SWEEP) + [tuple(map(float, p)) for p in extra]:
        if a <= a0 and b <= b0 and (a, b) not in sweep:
            sweep.append((a, b))
    return sweep


def _npz_bytes(arrays: Dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as zf:
        for name in MEMBERS:
            with zf.open(name + '.npy', 'w', force_zip64=True) as f:
                np.lib.format.write_array(f, arrays[name], allow_pickle=False)
    return buf.getvalue()


def _data_offset(buf: bytes, at: int) -> Tuple[int, str]:
    """Offset of the array data of the zip member whose local header is at
    ``at`` and its name (raises ``ValueError`` on a bad header)."""
    if buf[at:at + 4] != b'PK\x03\x04':
        raise ValueError('no zip member header')
    n, e = struct.unpack('<HH', buf[at + 26:at + 30])
    name = buf[at + 30:at + 30 + n].decode('utf-8', 'replace')
    npy = at + 30 + n + e
    if buf[npy:npy + 6] != b'\x93NUMPY':
        raise ValueError(f'member {name} is not a .npy array')
    if buf[npy + 6] == 1:
        hlen, = struct.unpack('<H', buf[npy + 8:npy + 10])
        return npy + 10 + hlen, name
    hlen, = struct.unpack('<I', buf[npy + 8:npy + 12])
    return npy + 12 + hlen, name


def encode_tracks(tracks: Tracks, sweep: Sequence = ()) -> bytes:
    """The bytes of a format-2 file of ``tracks``.

    Args:
        tracks (Tracks): Tracks at their extraction values (``meta`` must
            have ``alpha`` and ``beta``).
        sweep (sequence): Extra ``(alpha, beta)`` points to store beside
            ``SHIPPED_SWEEP`` (those looser than the extraction are left out).

    Returns:
        bytes: A complete ``.npz`` file.
    """
    n, t = tracks.num_tracks, tracks.num_frames
    meta = tracks.meta
    if meta.get('alpha') is None or meta.get('beta') is None:
        raise ValueError('tracks.meta needs alpha and beta')
    scale = coord_scale(tracks.frame_size)
    pts = tracks.points
    if pts.size and not np.all(np.isfinite(pts)):
        raise ValueError('track positions must be finite')
    q = np.rint(pts.astype(np.float64) * scale)
    if q.size and (q.min() < 0 or q.max() > 65535):
        raise ValueError(f'track positions outside [0, {65535 / scale}] px')
    tdt = np.uint16 if t <= 65535 else np.uint32
    ids = np.repeat(np.arange(n), tracks.length)
    frames = tracks.start[ids] + (np.arange(ids.size) - np.repeat(
        np.cumsum(tracks.length) - tracks.length, tracks.length))
    order = np.argsort(frames, kind='stable')
    pdt = np.uint32 if ids.size < 2**32 else np.int64
    ptr = np.concatenate([[0], np.cumsum(np.bincount(frames, minlength=t))])
    points_sweep = _sweep_for(meta, sweep)
    lengths = np.stack([tracks.length] + [
        lengths_at(tracks.start, tracks.length, tracks.terms, a, b)
        for a, b in points_sweep[1:]]).astype(tdt).reshape(-1, n)
    uid = zlib.crc32(tracks.terms.tobytes(), zlib.crc32(
        tracks.start.tobytes(), zlib.crc32(tracks.length.tobytes())))
    header = dict(num_frames=t, frame_size=list(tracks.frame_size),
                  num_tracks=n, num_points=int(ids.size), coord_scale=scale,
                  sweep=[list(p) for p in points_sweep], uid=f'{uid:08x}',
                  dtypes=dict(index=np.dtype(tdt).name,
                              ptr=np.dtype(pdt).name), meta=meta)
    arrays = dict(
        layout=np.zeros((len(MEMBERS), 2), np.int64),
        version=np.int64(FORMAT_VERSION_2),
        header=np.frombuffer(json.dumps(header, sort_keys=True).encode(),
                             np.uint8),
        start=tracks.start.astype(tdt), frame_ptr=ptr.astype(pdt),
        lengths=lengths, xy=q[order].astype(np.uint16).reshape(-1, 2),
        stop=tracks.stop, terms=tracks.terms)
    first = _npz_bytes(arrays)
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        infos = zf.infolist()
    for i, info in enumerate(infos):
        off, _ = _data_offset(first, info.header_offset)
        arrays['layout'][i] = (off, arrays[MEMBERS[i]].nbytes)
    data = _npz_bytes(arrays)  # same sizes, so the same offsets
    assert len(data) == len(first)
    return data


def write_bytes_atomic(path: str, data: bytes, atomic: bool = True) -> None:
    """Write ``data`` to ``path`` (temp file in the same folder + rename)."""
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    if not atomic:
        with open(path, 'wb') as f:
            f.write(data)
        return
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp', dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def is_format2(path: str) -> bool:
    """True when ``path`` starts with the ``layout`` member of format 2."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if head[:4] != b'PK\x03\x04' or len(head) < 30:
        return False
    n, = struct.unpack('<H', head[26:28])
    return head[30:30 + n] == b'layout.npy'


def decode_tracks(arrays: Dict[str, np.ndarray]) -> Tracks:
    """Full :class:`Tracks` (extraction values) from a format-2 file's
    members (as ``np.load`` returns them); positions are the stored
    fixed-point values."""
    header = json.loads(arrays['header'].tobytes().decode())
    n, t = header['num_tracks'], header['num_frames']
    start = arrays['start'].astype(np.int64)
    length = arrays['lengths'].reshape(-1, n)[0].astype(np.int64)
    ids = np.repeat(np.arange(n), length)
    frames = start[ids] + (np.arange(ids.size) - np.repeat(
        np.cumsum(length) - length, length))
    order = np.argsort(frames, kind='stable')
    points = np.empty((ids.size, 2), np.float32)
    points[order] = arrays['xy'].astype(np.float32) / header['coord_scale']
    return Tracks(start, length, arrays['stop'], points, arrays['terms'], t,
                  tuple(header['frame_size']), header['meta'])
