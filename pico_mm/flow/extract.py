"""Video → flow store extraction core (used by ``tools/data/extract_flow.py``).

Frames are streamed (a long video never sits in memory): pairs are batched
``batch_size`` at a time through a backend and written to a
:class:`~pico_mm.flow.store.FlowStoreWriter`, with decoding ahead of and
coding behind the backend (:mod:`pico_mm.flow.pipeline`).
:class:`StreamingExtractor` is the serial path the pipeline's output is
checked against.
"""
import json
import os
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from .pipeline import PipelineStats, Segment, run_pipeline
from .shots import OnlineShots, shot_detector
from .store import FlowStoreWriter, read_meta
from .video import VideoReadError, iter_frames, video_fps


class StreamingExtractor:
    """Push frames one by one; flow pairs are computed in batches.

    If the writer keeps frames (``frame_quality``), each frame is stored as
    JPEG and the flow is computed on the frame decoded back from it, so the
    store's frames are bit-identical to the flow's input.

    Args:
        backend: ``backend(frames1, frames2) -> (fwd, bwd)``.
        writer: Open :class:`FlowStoreWriter`.
        batch_size: Pairs per backend call.
    """

    def __init__(self, backend, writer: FlowStoreWriter, batch_size: int = 8):
        self.backend = backend
        self.writer = writer
        self.batch_size = max(1, int(batch_size))
        self.buf: List[np.ndarray] = []
        self.num_frames = 0

    def push(self, frame: np.ndarray) -> None:
        """Add the next frame (uint8 H×W×3 BGR)."""
        if self.buf and frame.shape != self.buf[0].shape:
            raise VideoReadError(f'frame size changed mid-video '
                                 f'({self.buf[0].shape} -> {frame.shape})')
        if self.writer.frame_quality is not None:
            frame = self.writer.add_frame(frame)
        self.buf.append(frame)
        self.num_frames += 1
        if len(self.buf) > self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if len(self.buf) < 2:
            return
        f1 = np.stack(self.buf[:-1])
        f2 = np.stack(self.buf[1:])
        fwd, bwd = self.backend(f1, f2)
        for a, b in zip(fwd, bwd):
            self.writer.add_pair(a, b)
        self.buf = self.buf[-1:]

    def finish(self, **meta) -> Dict:
        """Flush and write meta; raises VideoReadError if < 2 frames."""
        self._flush()
        if self.num_frames < 2:
            raise VideoReadError(f'too short: {self.num_frames} frame(s) after '
                                 'resampling, need at least 2')
        return self.writer.finish(**meta)


def base_meta(source: str, source_kind: str, fps, short_side, backend,
              source_rel: Optional[str] = None,
              source_fps: Optional[float] = None) -> Dict:
    """Meta keys shared by whole-video and snippet stores.

    ``source_rel`` is the source path relative to the INPUT root (as in a
    list file), recorded as ``source_rel_path`` so that a moved dataset can
    be found again (``load_store_frames(..., source_root=NEW_ROOT)``).
    """
    meta = dict(source=source, source_abs=os.path.abspath(source),
                source_rel_path=source_rel if source_rel is not None
                else os.path.basename(os.path.normpath(source)),
                source_kind=source_kind, fps=fps or None,
                short_side=short_side or None, frame_offset=0)
    meta['source_rel'] = meta['source_rel_path']  # alias read by track_points.py
    if source_kind == 'video':
        meta['source_native_fps'] = video_fps(source) or None
    if source_fps:
        meta['source_fps_override'] = float(source_fps)
    meta.update(backend.describe())
    return meta


def _finish_store(writer: FlowStoreWriter, n: int, meta: Dict) -> Dict:
    if n < 2:
        raise VideoReadError(f'too short: {n} frame(s) after resampling, '
                             'need at least 2')
    return writer.finish(**meta)


def extract_video(source: str, out_path: str, backend, source_kind: str,
                  fps: Optional[float] = 30, short_side: Optional[int] = 256,
                  bound: float = 20.0, quality: int = 95, batch_size: int = 8,
                  source_rel: Optional[str] = None,
                  source_fps: Optional[float] = None,
                  frame_quality: Optional[int] = None, overlap: bool = True,
                  stats: Optional[PipelineStats] = None) -> Dict:
    """Write the flow store of a whole video/rawframe folder to ``out_path``.

    ``out_path`` is written directly (callers pass a temp path and rename).
    ``frame_quality`` (JPEG 1..100) also keeps the frames in the store
    (:mod:`pico_mm.flow.frame_store`); None keeps none. With ``overlap``
    (default) decoding runs ahead of the backend and coding/writing behind
    it (:mod:`pico_mm.flow.pipeline`, byte-identical output); False runs the
    serial :class:`StreamingExtractor`.

    Returns:
        dict: The store meta.
    """
    meta = base_meta(source, source_kind, fps, short_side, backend, source_rel,
                     source_fps)
    frames = (f for _, f in iter_frames(source, fps, short_side, source_fps))
    if not overlap:
        with FlowStoreWriter(out_path, bound, quality,
                             frame_quality=frame_quality) as w:
            ex = StreamingExtractor(backend, w, batch_size)
            for frame in frames:
                ex.push(frame)
            return ex.finish(**meta)
    seg = Segment(frames,
                  lambda: FlowStoreWriter(out_path, bound, quality,
                                          frame_quality=frame_quality),
                  lambda w, n: _finish_store(w, n, meta),
                  lambda w: w is not None and w.close())
    return run_pipeline([seg], backend, batch_size, frame_quality,
                        stats=stats)[0]


def snippet_name(start: int) -> str:
    """File name of the snippet starting at target frame ``start``."""
    return f'snippet_{start:06d}.zip'


def _snippet_done(path: str, start: int, stop: int, expect: Dict,
                  frame_quality: Optional[int]) -> Optional[Dict]:
    """Meta of a finished snippet store made with these settings, else None."""
    if not os.path.isfile(path):
        return None
    try:
        meta = read_meta(path)
    except (OSError, ValueError):
        return None  # incomplete or foreign: redo it
    kept = (meta.get('frames') or {}).get('quality')
    if meta.get('snippet') != [start, stop] or kept != frame_quality or any(
            meta.get(k) != v for k, v in expect.items()):
        return None
    return meta


def _cut_snippets(frames: Iterator[Tuple[int, np.ndarray]], det: OnlineShots,
                  length: int, min_len: int
                  ) -> Iterator[Tuple[int, int, List[np.ndarray]]]:
    """``(start, stop, frames)`` of each snippet as the frames stream past:
    each shot is cut into ``length``-frame pieces, a remainder kept if it has
    at least ``min(length, min_len)`` (and 2) frames (as
    :func:`~pico_mm.flow.shots.make_snippets`)."""
    cur, s, buf = None, 0, []
    for j, frame in frames:
        k = det.shot_of(j, frame)
        if k != cur or len(buf) == length:
            if buf and len(buf) >= min(length, min_len) and len(buf) >= 2:
                yield s, s + len(buf), buf
            cur, s, buf = k, j, []
        if k is not None:
            buf.append(frame)
    if buf and len(buf) >= min(length, min_len) and len(buf) >= 2:
        yield s, s + len(buf), buf


def extract_snippets(source: str, out_dir: str, backend,
                     fps: float = 30, short_side: Optional[int] = 256,
                     bound: float = 20.0, quality: int = 95, batch_size: int = 8,
                     snippet_seconds: float = 10.0, min_seconds: float = 2.0,
                     shot_threshold: float = 0.5, source_rel: Optional[str] = None,
                     source_fps: Optional[float] = None,
                     frame_quality: Optional[int] = None, resume: bool = True,
                     stats: Optional[PipelineStats] = None) -> Dict:
    """Split a long video into shots, cut snippets, one store per snippet.

    The video is decoded once: shots are detected on the frames as they
    stream to the flow (:class:`~pico_mm.flow.shots.OnlineShots`), and a
    snippet goes to the flow pipeline once its end is known. Snippet stores
    ``<out_dir>/snippet_<start>.zip`` are each written atomically (temp +
    rename); their meta has ``frame_offset = start`` so ``load_frames(source,
    [frame_offset + t])`` gives store frame ``t`` (or, with
    ``frame_quality``, the store keeps its own frames). With ``resume`` a
    snippet whose finished store (same span and settings) exists is not
    recomputed, so a killed video redoes only its missing snippets.

    Returns:
        dict: Manifest (``shots``, ``snippets``, ``detector``, ...); the
        caller writes it as ``<out_dir>/snippets.json`` (the done marker).
    """
    from pico_mm.utils.batch_job import temp_path_for
    if not fps:
        raise ValueError('shot snippets need a target --fps')
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # half-written snippets of a killed run
        if name.startswith('.snippet_') and '.tmp' in name:
            os.remove(os.path.join(out_dir, name))
    meta0 = base_meta(source, 'video', fps, short_side, backend, source_rel,
                      source_fps)
    det = shot_detector(source, fps, shot_threshold, source_fps=source_fps)
    meta0['shot_detector'] = det.detector
    expect = dict(meta0, bound=float(bound), quality=int(quality))
    expect.pop('source_native_fps', None)
    done: Dict[int, Dict] = {}
    count = [0]

    def entry(s: int, e: int, m: Dict) -> None:
        done[s] = dict(file=snippet_name(s), start=s, stop=e,
                       num_frames=m['num_frames'], clip_fraction=m['clip_fraction'])

    def segment(s: int, e: int, frames: List[np.ndarray]) -> Segment:
        final = os.path.join(out_dir, snippet_name(s))
        tmp = temp_path_for(final)

        def finish(w: FlowStoreWriter, n: int) -> None:
            m = _finish_store(w, n, dict(meta0, frame_offset=s, snippet=[s, e]))
            os.replace(tmp, final)
            entry(s, e, m)

        def abort(w: Optional[FlowStoreWriter]) -> None:
            if w is not None:
                w.close()
            if os.path.exists(tmp):
                os.remove(tmp)
        return Segment(frames, lambda: FlowStoreWriter(
            tmp, bound, quality, frame_quality=frame_quality), finish, abort)

    def segments() -> Iterator[Segment]:
        def counted():
            for j, frame in iter_frames(source, fps, short_side, source_fps):
                count[0] = j + 1
                yield j, frame
        length = max(2, int(round(snippet_seconds * fps)))
        min_len = max(2, int(round(min_seconds * fps)))
        for s, e, frames in _cut_snippets(counted(), det, length, min_len):
            old = resume and _snippet_done(
                os.path.join(out_dir, snippet_name(s)), s, e,
                dict(expect, frame_offset=s), frame_quality)
            if old:
                entry(s, e, old)
            else:
                yield segment(s, e, frames)
        if count[0] < 2:
            raise VideoReadError(f'too short: {count[0]} frame(s) after resampling')

    run_pipeline(segments(), backend, batch_size, frame_quality, stats=stats)
    return dict(source=source, source_rel_path=meta0['source_rel_path'], fps=fps,
                short_side=short_side, num_frames=count[0], detector=det.detector,
                snippet_seconds=snippet_seconds, min_seconds=min_seconds,
                shots=[list(s) for s in det.shots()],
                snippets=[done[s] for s in sorted(done)])


def write_json(path: str, obj) -> None:
    """Deterministic JSON dump (sorted keys)."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, sort_keys=True, indent=1)


def list_inputs(input_path: str, data_root: Optional[str] = None
                ) -> List[Tuple[str, str, str]]:
    """Expand INPUT into ``(rel_name, source_path, kind)`` triples.

    INPUT may be a video file, a rawframe folder, a folder tree of videos
    and/or rawframe folders, or an mmaction2 list file. ``rel_name`` is the
    path relative to INPUT (or as written in the list) without the video
    extension; outputs are named ``<rel_name>.zip``.

    Raises:
        FileNotFoundError: INPUT does not exist.
    """
    from .video import is_rawframe_dir, is_video_file, parse_list_file
    if not os.path.exists(input_path):
        raise FileNotFoundError(f'{input_path}: input not found (give a video '
                                'folder, a rawframes folder or a list file)')
    if os.path.isfile(input_path):
        if is_video_file(input_path):
            name = os.path.splitext(os.path.basename(input_path))[0]
            return [(name, input_path, 'video')]
        out = []
        for rel, path in parse_list_file(input_path, data_root):
            kind = 'rawframes' if os.path.isdir(path) else 'video'
            name = os.path.splitext(rel)[0] if kind == 'video' and is_video_file(rel) else rel
            out.append((name.strip('/'), path, kind))
        return out
    if is_rawframe_dir(input_path):
        return [(os.path.basename(os.path.normpath(input_path)), input_path, 'rawframes')]
    out = []
    for root, dirs, files in os.walk(input_path):
        dirs.sort()
        rel_root = os.path.relpath(root, input_path)
        if rel_root != '.' and is_rawframe_dir(root):
            out.append((rel_root, root, 'rawframes'))
            dirs[:] = []
            continue
        for f in sorted(files):
            if is_video_file(f):
                rel = os.path.normpath(os.path.join(rel_root, os.path.splitext(f)[0]))
                out.append((rel, os.path.join(root, f), 'video'))
    return sorted(out)

