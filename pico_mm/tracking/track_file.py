"""Track file I/O: one uncompressed ``.npz`` per video, written atomically.

Members (see ``docs/tracking.md``):

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
import json
import os
import os.path as osp
import tempfile
import zipfile
from typing import Optional

import numpy as np

from .tracks import LooserThresholdError, Tracks

FORMAT_VERSION = 1
_KEYS = ('version', 'start', 'length', 'stop', 'points', 'terms',
         'num_frames', 'frame_size', 'meta')
_FP16_MAX = float(np.finfo(np.float16).max)


class TrackFileError(ValueError):
    """A track file is missing, truncated, corrupt or of an unknown format."""


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


def save_tracks(path: str, tracks: Tracks, atomic: bool = True) -> None:
    """Write ``tracks`` to ``path`` atomically (temp file + ``os.replace``).

    ``tracks.terms`` are expected to already be conservatively rounded (the
    tracker does it); they are stored as they are.

    Args:
        path (str): Destination ``.npz`` path; parent folders are created.
        tracks (Tracks): Tracks to store.
        atomic (bool): Write a temp file and rename it; False writes ``path``
            directly (for callers that already write to a temp path, e.g.
            ``pico_mm.utils.batch_job``).
    """
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
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
    if not atomic:
        with open(path, 'wb') as f:
            np.savez(f, **arrays)
        return
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=out_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _fail(path: str, why: str) -> TrackFileError:
    return TrackFileError(
        f'{path}: {why}; re-run tools/data/track_points.py on its flow file '
        f'to regenerate it')


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
