"""Video / rawframe input: decode, resample by time, resize (pure cv2/numpy).

Decoder: OpenCV ``cv2.VideoCapture``. opencv-python-headless is already a
dependency and its wheels bundle FFmpeg (mp4/avi/webm/mkv/mov), so no extra
package (PyAV, decord) is needed; frames come out as uint8 BGR like mmcv.

Resampling: source frame ``i`` is taken to lie at ``i / src_fps`` (constant
frame rate; a variable-rate file is treated at its average rate). Target
frame ``j`` (time ``j / fps``) is the **nearest** source frame
``ceil(j * src_fps / fps - 0.5)`` (ties go to the earlier frame, so 15→30 Hz
repeats every frame exactly twice); target frames are emitted while that
index exists. ``fps=None`` keeps every source frame. Rawframe folders have
no rate: they are taken as already at the target rate unless ``source_fps``
is given.

A video that decodes to fewer than 90 % of the frames its container
announces raises :class:`VideoReadError` (truncated download) once the
stream ends.

Resize: the short side is scaled to ``short_side`` keeping the aspect ratio
(long side rounded), like mmaction2's ``--new-short``; ``cv2.INTER_AREA``
when shrinking, ``cv2.INTER_LINEAR`` when enlarging; ``0``/``None`` keeps
the size.
"""
import glob
import math
import os
import re
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

VIDEO_EXTS = ('.mp4', '.avi', '.webm', '.mkv', '.mov', '.m4v', '.mpg',
              '.mpeg', '.flv', '.wmv')
RAWFRAME_TMPL = 'img_{:05d}.jpg'
# A video decoding to fewer than this fraction of the frame count its container
# announces is reported as truncated (counts from duration × fps can be a few
# percent off, hence the margin).
TRUNCATED_FRACTION = 0.9


class VideoReadError(RuntimeError):
    """A video/rawframe source cannot be read (missing, corrupt, too short)."""


def is_video_file(path: str) -> bool:
    """True if ``path`` has a known video extension."""
    return os.path.splitext(path)[1].lower() in VIDEO_EXTS


def is_rawframe_dir(path: str, tmpl: str = RAWFRAME_TMPL) -> bool:
    """True if ``path`` is a folder holding ``img_00001.jpg`` (mmaction2)."""
    return os.path.isfile(os.path.join(path, tmpl.format(1)))


def resized_size(h: int, w: int, short_side: Optional[int]) -> Tuple[int, int]:
    """Output ``(h, w)`` after scaling the short side to ``short_side``."""
    if not short_side or min(h, w) == short_side:
        return h, w
    scale = short_side / min(h, w)
    if h <= w:
        return int(short_side), max(1, int(math.floor(w * scale + 0.5)))
    return max(1, int(math.floor(h * scale + 0.5))), int(short_side)


def resize_frame(frame: np.ndarray, short_side: Optional[int]) -> np.ndarray:
    """Resize an H×W×3 frame so its short side is ``short_side``."""
    h, w = frame.shape[:2]
    nh, nw = resized_size(h, w, short_side)
    if (nh, nw) == (h, w):
        return frame
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_LINEAR
    return cv2.resize(frame, (nw, nh), interpolation=interp)


def source_index(j: int, src_fps: Optional[float], fps: Optional[float]) -> int:
    """Source frame index of target frame ``j`` (nearest in time)."""
    if not fps or not src_fps:
        return j
    return max(0, int(math.ceil(j * (src_fps / fps) - 0.5 - 1e-9)))


def _rawframe_count(folder: str, tmpl: str) -> int:
    n = len(glob.glob(os.path.join(glob.escape(folder), tmpl.replace('{:05d}', '*'))))
    while n > 0 and not os.path.isfile(os.path.join(folder, tmpl.format(n))):
        n -= 1  # tolerate stray files: count the contiguous 1..n run
    return n


def video_fps(path: str) -> float:
    """Frame rate reported by the container (0.0 if unknown)."""
    cap = cv2.VideoCapture(path)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return fps if math.isfinite(fps) and fps > 0 else 0.0


def _iter_source(source: str, tmpl: str) -> Tuple[Optional[float], Iterator]:
    """``(src_fps, iterator of (grab, retrieve) callables)`` for a source."""
    if os.path.isdir(source):
        n = _rawframe_count(source, tmpl)
        if n == 0:
            raise VideoReadError(f'{source}: no {tmpl.format(1)} in this folder '
                                 '(expected mmaction2 rawframes img_%05d.jpg)')

        def gen():
            for i in range(n):
                p = os.path.join(source, tmpl.format(i + 1))

                def get(p=p):
                    img = cv2.imread(p, cv2.IMREAD_COLOR)
                    if img is None:
                        raise VideoReadError(f'{p}: unreadable frame image '
                                             '(corrupt JPEG?); re-extract it')
                    return img
                yield get
        return None, gen()
    if not os.path.isfile(source):
        raise VideoReadError(f'{source}: no such video file or rawframe folder')
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f'{source}: cannot open video (corrupt or unsupported '
                             'container); re-download or re-encode it')
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    fps = fps if math.isfinite(fps) and 0 < fps < 1000 else None
    reported = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    reported = int(reported) if math.isfinite(reported) and reported > 0 else 0

    def gen():
        n = 0
        try:
            while cap.grab():
                n += 1
                yield lambda: _retrieve(cap, source)
        finally:
            cap.release()
        if n < TRUNCATED_FRACTION * reported - 1:
            raise VideoReadError(
                f'{source}: truncated or corrupt: decoded {n} of {reported} frames '
                'the container announces; re-download or re-encode it')
    return fps, gen()


def _retrieve(cap, source: str) -> np.ndarray:
    ok, frame = cap.retrieve()
    if not ok or frame is None:
        raise VideoReadError(f'{source}: frame decode failed (corrupt stream)')
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    return frame


def iter_frames(source: str, fps: Optional[float] = 30, short_side: Optional[int] = 256,
                source_fps: Optional[float] = None, tmpl: str = RAWFRAME_TMPL,
                stop: Optional[int] = None,
                want: Optional[set] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """Stream resampled, resized frames.

    Args:
        source: Video file or mmaction2 rawframe folder.
        fps: Target rate (None/0 keeps every source frame).
        short_side: Resize short side to this (None/0 keeps the size).
        source_fps: Override the source rate (rawframes default: = ``fps``).
        tmpl: Rawframe file name template (1-based).
        stop: Stop before target index ``stop`` (None: to the end).
        want: Only yield these target indices (None: all). Frames nobody
            asked for are still grabbed (videos decode sequentially) but not
            read (rawframes), converted or resized.

    Yields:
        tuple: ``(j, frame)``, ``j`` = 0, 1, ... target index, frame uint8
        H×W×3 BGR.

    Raises:
        VideoReadError: The source is missing or corrupt.
    """
    native_fps, grabs = _iter_source(source, tmpl)
    src_fps = source_fps or native_fps
    if src_fps is None and fps and not os.path.isdir(source):
        raise VideoReadError(f'{source}: frame rate unknown; pass source_fps '
                             '(--source-fps) or fps=None')
    j = 0
    for i, get in enumerate(grabs):
        if stop is not None and j >= stop:
            return
        if source_index(j, src_fps, fps) != i:
            continue  # grabbed (decoded) but not converted: cheap skip
        targets = []
        while source_index(j, src_fps, fps) == i and (stop is None or j < stop):
            targets.append(j)
            j += 1
        if want is not None and want.isdisjoint(targets):
            continue  # not asked for: skip reading/converting/resizing it
        frame = resize_frame(get(), short_side)
        for t in targets:
            yield t, frame


def load_frames(source: str, indices: Optional[Sequence[int]] = None,
                fps: Optional[float] = 30, short_side: Optional[int] = 256,
                source_fps: Optional[float] = None,
                tmpl: str = RAWFRAME_TMPL) -> List[np.ndarray]:
    """Frames exactly as the flow extractor saw them.

    Args:
        source: Video file or rawframe folder (the store's ``meta['source']``).
        indices: Target-rate frame indices (0-based), any order, repeats
            allowed; None for all frames. For a shot snippet store add its
            ``meta['frame_offset']`` (or use :func:`load_store_frames`).
        fps, short_side, source_fps: As used at extraction (store meta).

    Returns:
        list[np.ndarray]: uint8 H×W×3 BGR frames, in ``indices`` order.

    Raises:
        VideoReadError: Unreadable source. IndexError: index past the end.
    """
    if indices is None:
        return [f for _, f in iter_frames(source, fps, short_side, source_fps, tmpl)]
    idx = [int(i) for i in indices]
    if not idx:
        return []
    if min(idx) < 0:
        raise IndexError(f'{source}: negative frame index {min(idx)}')
    want = set(idx)
    got = {}
    for j, frame in iter_frames(source, fps, short_side, source_fps, tmpl,
                                stop=max(idx) + 1, want=want):
        if j in want:
            got[j] = frame
    missing = sorted(want - set(got))
    if missing:
        raise IndexError(f'{source}: frame index {missing[0]} past the end '
                         f'({len(got) and max(got) + 1} frames at this rate)')
    return [got[i] for i in idx]


def load_store_frames(flow_path: str, indices: Optional[Sequence[int]] = None,
                      source_root: Optional[str] = None,
                      from_store: bool = True) -> List[np.ndarray]:
    """The frames a flow store's flow was computed on.

    A store that keeps its frames (``meta['frames']``, the extractor's
    default) gives them directly (:mod:`pico_mm.flow.frame_store`); an older
    store's frames are decoded from its source with its own
    fps/short_side/offset.

    Args:
        flow_path: Store zip.
        indices: Store frame indices (0 .. num_frames-1); None for all.
        source_root: Folder the store's INPUT moved to: the source is then
            ``source_root/meta['source_rel_path']`` (default: ``meta['source']``,
            else ``meta['source_abs']``).
        from_store: False always decodes the source video.
    """
    from .frame_store import StoreFrames
    with StoreFrames(flow_path) as store:
        meta = store.meta
        if from_store and store.has_frames:
            n = store.num_frames
            return store.read_many(range(n) if indices is None else indices)
    if source_root:
        src = os.path.join(source_root, meta.get('source_rel_path', meta['source']))
    elif os.path.exists(meta['source']):
        src = meta['source']
    else:  # relative to another working directory: try the absolute path
        src = meta.get('source_abs', meta['source'])
    off = int(meta.get('frame_offset', 0))
    n = int(meta['num_frames'])
    idx = list(range(n)) if indices is None else [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise IndexError(f'{flow_path}: frame {bad[0]} out of range 0..{n - 1}')
    return load_frames(src, [i + off for i in idx], meta.get('fps'),
                       meta.get('short_side'), meta.get('source_fps_override'),
                       meta.get('rawframe_tmpl', RAWFRAME_TMPL))


_INT = re.compile(r'^\d+$')


def parse_list_file(list_path: str, data_root: Optional[str] = None) -> List[Tuple[str, str]]:
    """Parse an mmaction2 video or rawframe list file.

    Lines are ``path label...`` (videos) or ``frame_dir total_frames label...``
    (rawframes); blank lines and ``#`` comments are ignored. Paths are
    relative to ``data_root`` (default: the list file's folder).

    Returns:
        list[tuple[str, str]]: ``(rel_path_as_written, absolute_path)``.

    Raises:
        FileNotFoundError: The list does not exist. ValueError: bad line.
    """
    if not os.path.isfile(list_path):
        raise FileNotFoundError(f'{list_path}: list file not found')
    root = data_root if data_root is not None else os.path.dirname(
        os.path.abspath(list_path))
    out = []
    with open(list_path, encoding='utf-8') as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split()
            if len(parts) < 1 or (len(parts) >= 3 and not _INT.match(parts[1])
                                  and not _INT.match(parts[-1])):
                raise ValueError(f'{list_path}:{ln}: expected "path label" or '
                                 f'"frame_dir total_frames label", got {line!r}')
            rel = parts[0]
            out.append((rel, rel if os.path.isabs(rel) else os.path.join(root, rel)))
    return out
