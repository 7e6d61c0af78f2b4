"""Track file I/O: one uncompressed ``.npz`` per video, written atomically.

``save_tracks`` writes format 2 (:mod:`pico_mm.tracking.track_index`:
frame-major 16-bit fixed-point positions, per-track lengths at every shipped
(alpha, beta), laid out so that a sample seeks to what it uses);
``load_tracks`` reads both formats; :func:`open_tracks` gives the seeking
reader for format 2. Format 1 (still written with ``version=1``) members
(see ``docs/tracking.md``):

* ``version``   int64 scalar, format version (1).
* ``start``     N int32, first frame of each track.
* ``length``    N int32, frames alive (a track is a contiguous run).
* ``stop``      N uint8, stop reason (0 end, 1 left image, 2 inconsistent,
  3 motion boundary).
* ``points``    L×2 float32, positions ``(x, y)`` track after track
  (L = sum(length)).
* ``terms``     (L-N)×2 float16 per-step ``|w+ŵ|²`` (rounded down) and
  ``|w|²+|ŵ|²`` (rounded up), so re-applying the extraction thresholds is
  exact and stricter ones only shorten tracks.
* ``num_frames`` int64 scalar; ``frame_size`` int64 (H, W).
* ``meta``      JSON string (``source``, ``fps``, ``short_side``,
  ``flow_path``, ``alpha``, ``beta``, ``motion_boundary``, ``num_points``,
  ``seed``, ...).
"""
import io
import json
import os.path as osp
import zipfile
from typing import Optional

import numpy as np

from .track_format import (TrackFileError, decode_tracks, encode_tracks,
                           is_format2, track_file_error, write_bytes_atomic)
from .track_index import TrackIndex
from .tracks import LooserThresholdError, Tracks

FORMAT_VERSION = 1
_KEYS = ('version', 'start', 'length', 'stop', 'points', 'terms',
         'num_frames', 'frame_size', 'meta')
_FP16_MAX = float(np.finfo(np.float16).max)


def round_fp16(values: np.ndarray, direction: str) -> np.ndarray:
    """Round non-negative float values to float16 ``'down'`` or ``'up'``.

    Args:
        values (np.ndarray): Non-negative float array (squared norms).
        direction (str): ``'down'`` (result <= value) or ``'up'``
            (result >= value; +inf beyond the fp16 range).

    Returns:
        np.ndarray: float16 array of the same shape.
    """
    if direction not in ('down', 'up'):
        raise ValueError(f'direction must be "down" or "up", got {direction}')
    values = np.asarray(values, dtype=np.float32)
    if values.size and values.min() < 0:
        raise ValueError('round_fp16 expects non-negative values')
    if direction == 'down':
        values_c = np.minimum(values, _FP16_MAX)
    else:
        values_c = values
    with np.errstate(over='ignore'):
        half = values_c.astype(np.float16)
    back = half.astype(np.float32)
    # for non-negative halves, the next float16 up/down is bits +/- 1
    bits = half.view(np.uint16)
    if direction == 'down':
        bits[back > values] -= np.uint16(1)
    else:
        bits[back < values] += np.uint16(1)
    return half


def save_tracks(path: str, tracks: Tracks, atomic: bool = True,
                version: int = 2, sweep=()) -> None:
    """Write ``tracks`` to ``path`` atomically (temp file + ``os.replace``).

    ``tracks.terms`` are expected to already be conservatively rounded (the
    tracker does it); they are stored as they are.

    Args:
        path (str): Destination ``.npz`` path; parent folders are created.
        tracks (Tracks): Tracks to store.
        atomic (bool): Write a temp file and rename it; False writes ``path``
            directly (for callers that already write to a temp path, e.g.
            ``pico_mm.utils.batch_job``).
        version (int): 2 (default; positions rounded to ``1/coord_scale``
            px, see :mod:`pico_mm.tracking.track_format`) or 1 (float32).
        sweep (sequence): Format 2: extra ``(alpha, beta)`` points whose
            track lengths are stored beside the shipped ones.
    """
    if version == 2:
        write_bytes_atomic(path, encode_tracks(tracks, sweep), atomic)
        return
    if version != FORMAT_VERSION:
        raise ValueError(f'track file version must be 1 or 2, got {version}')
    arrays = dict(
        version=np.int64(FORMAT_VERSION),
        start=tracks.start,
        length=tracks.length,
        stop=tracks.stop,
        points=tracks.points,
        terms=tracks.terms,
        num_frames=np.int64(tracks.num_frames),
        frame_size=np.asarray(tracks.frame_size, dtype=np.int64),
        meta=np.array(json.dumps(tracks.meta, sort_keys=True)))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue(), atomic)


_fail = track_file_error


def file_version(path: str) -> int:
    """Format of a track file: 2, or 1 for anything else (checked on load).

    Raises:
        TrackFileError: the file does not exist.
    """
    if not osp.isfile(path):
        raise TrackFileError(
            f'{path}: track file not found; run tools/data/track_points.py '
            f'FLOW_DIR OUT_DIR to create it')
    return 2 if is_format2(path) else 1


def open_tracks(path: str, alpha: Optional[float] = None,
                beta: Optional[float] = None):
    """Tracks of one file for sampling, read as little as the format allows.

    Args:
        path (str): Track file.
        alpha (float, optional): Consistency alpha (None: extraction value).
        beta (float, optional): Consistency beta (None: extraction value).

    Returns:
        TrackIndex | Tracks: a :class:`TrackIndex` (reads the per-track table
        now, the positions of a frame when asked) for format 2; the whole
        re-thresholded :class:`Tracks` for format 1 (convert those once with
        ``tools/data/convert_tracks.py``).
    """
    if file_version(path) == 2:
        return TrackIndex(path, alpha, beta)
    return load_tracks(path, alpha, beta)


def load_tracks(path: str, alpha: Optional[float] = None,
                beta: Optional[float] = None) -> Tracks:
    """Load a track file, optionally applying a stricter consistency test.

    Args:
        path (str): ``.npz`` track file written by ``save_tracks``.
        alpha (float, optional): Consistency ``alpha``; None keeps the
            extraction value.
        beta (float, optional): Consistency ``beta`` (px²); None keeps the
            extraction value.

    Returns:
        Tracks: with ``xy`` (N×T×2, NaN where dead), ``alive`` (N×T),
        ``frame_size`` (H, W) and ``meta``.

    Raises:
        LooserThresholdError: ``alpha``/``beta`` looser than the values the
            file was tracked with (message names the file and the fix).
        TrackFileError: missing, truncated, corrupt or unknown-format file
            (the message names the file and says how to fix it).
    """
    if not osp.isfile(path):
        raise TrackFileError(
            f'{path}: track file not found; run tools/data/track_points.py '
            f'FLOW_DIR OUT_DIR to create it')
    if is_format2(path):
        return _load_v2(path, alpha, beta)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _KEYS if k not in data.files]
            if missing:
                raise _fail(path, f'missing members {missing} (not a '
                            f'pico_mm track file?)')
            arrays = {k: data[k] for k in _KEYS}
    except TrackFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile,
            zipfile.LargeZipFile, KeyError) as e:
        raise _fail(path, f'truncated or corrupt ({type(e).__name__}: {e})')
    version = int(arrays['version'])
    if version != FORMAT_VERSION:
        raise _fail(path, f'format version {version}, this code reads '
                    f'{FORMAT_VERSION}')
    try:
        meta = json.loads(str(arrays['meta']))
        tracks = Tracks(
            start=arrays['start'], length=arrays['length'],
            stop=arrays['stop'], points=arrays['points'],
            terms=arrays['terms'], num_frames=int(arrays['num_frames']),
            frame_size=tuple(int(v) for v in arrays['frame_size']),
            meta=meta)
    except (ValueError, TypeError) as e:
        raise _fail(path, f'inconsistent contents ({e})')
    try:
        return tracks.rethreshold(alpha, beta)
    except LooserThresholdError as e:
        raise LooserThresholdError(f'{path}: {e}') from None


_KEYS_V2 = ('layout', 'version', 'header', 'start', 'frame_ptr', 'lengths',
            'xy', 'stop', 'terms')


def _load_v2(path: str, alpha: Optional[float],
             beta: Optional[float]) -> Tracks:
    """The whole format-2 file as :class:`Tracks` (fixed-point positions)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _KEYS_V2 if k not in data.files]
            if missing:
                raise _fail(path, f'missing members {missing}')
            arrays = {k: data[k] for k in _KEYS_V2}
        tracks = decode_tracks(arrays)
    except TrackFileError:
        raise
    except (OSError, ValueError, EOFError, KeyError, TypeError,
            zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise _fail(path, f'truncated or corrupt ({type(e).__name__}: {e})')
    try:
        return tracks.rethreshold(alpha, beta)
    except LooserThresholdError as e:
        raise LooserThresholdError(f'{path}: {e}') from None
