"""Video → flow store extraction core (used by ``tools/data/extract_flow.py``).

Frames are streamed (a long video never sits in memory): pairs are batched
``batch_size`` at a time through a backend and written to a
:class:`~pico_mm.flow.store.FlowStoreWriter`.
"""
import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from .shots import detect_shots, make_snippets
from .store import FlowStoreWriter
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


def extract_video(source: str, out_path: str, backend, source_kind: str,
                  fps: Optional[float] = 30, short_side: Optional[int] = 256,
                  bound: float = 20.0, quality: int = 95, batch_size: int = 8,
                  source_rel: Optional[str] = None,
                  source_fps: Optional[float] = None,
                  frame_quality: Optional[int] = None) -> Dict:
    """Write the flow store of a whole video/rawframe folder to ``out_path``.

    ``out_path`` is written directly (callers pass a temp path and rename).
    ``frame_quality`` (JPEG 1..100) also keeps the frames in the store
    (:mod:`pico_mm.flow.frame_store`); None keeps none.

    Returns:
        dict: The store meta.
    """
    meta = base_meta(source, source_kind, fps, short_side, backend, source_rel,
                     source_fps)
    with FlowStoreWriter(out_path, bound, quality,
                         frame_quality=frame_quality) as w:
        ex = StreamingExtractor(backend, w, batch_size)
        for _, frame in iter_frames(source, fps, short_side, source_fps):
            ex.push(frame)
        return ex.finish(**meta)


def snippet_name(start: int) -> str:
    """File name of the snippet starting at target frame ``start``."""
    return f'snippet_{start:06d}.zip'


def extract_snippets(source: str, out_dir: str, backend,
                     fps: float = 30, short_side: Optional[int] = 256,
                     bound: float = 20.0, quality: int = 95, batch_size: int = 8,
                     snippet_seconds: float = 10.0, min_seconds: float = 2.0,
                     shot_threshold: float = 0.5, source_rel: Optional[str] = None,
                     source_fps: Optional[float] = None,
                     frame_quality: Optional[int] = None) -> Dict:
    """Split a long video into shots, cut snippets, one store per snippet.

    Snippet stores ``<out_dir>/snippet_<start>.zip`` are each written
    atomically (temp + rename); their meta has ``frame_offset = start`` so
    ``load_frames(source, [frame_offset + t])`` gives store frame ``t`` (or,
    with ``frame_quality``, the store keeps its own frames).

    Returns:
        dict: Manifest (``shots``, ``snippets``, ``detector``, ...); the
        caller writes it as ``<out_dir>/snippets.json`` (the done marker).
    """
    from pico_mm.utils.batch_job import temp_path_for
    if not fps:
        raise ValueError('shot snippets need a target --fps')
    shots, n, detector = detect_shots(source, fps, shot_threshold,
                                      source_fps=source_fps)
    if n < 2:
        raise VideoReadError(f'too short: {n} frame(s) after resampling')
    snips = make_snippets(shots, fps, snippet_seconds, min_seconds)
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # half-written snippets of a killed run
        if name.startswith('.snippet_') and '.tmp' in name:
            os.remove(os.path.join(out_dir, name))
    meta0 = base_meta(source, 'video', fps, short_side, backend, source_rel,
                      source_fps)
    done: List[Dict] = []
    k, cur = 0, None  # cur = (writer, extractor, tmp, final, (s, e))
    try:
        for j, frame in iter_frames(source, fps, short_side, source_fps,
                                    stop=snips[-1][1] if snips else 0):
            while k < len(snips) and j >= snips[k][1]:
                k += 1
            if k == len(snips):
                break
            s, e = snips[k]
            if j < s:
                continue
            if j == s:
                final = os.path.join(out_dir, snippet_name(s))
                tmp = temp_path_for(final)
                w = FlowStoreWriter(tmp, bound, quality,
                                    frame_quality=frame_quality)
                cur = (w, StreamingExtractor(backend, w, batch_size), tmp, final, (s, e))
            cur[1].push(frame)
            if j == e - 1:
                w, ex, tmp, final, (s, e) = cur
                m = ex.finish(**dict(meta0, frame_offset=s, snippet=[s, e],
                                     shot_detector=detector))
                os.replace(tmp, final)
                done.append(dict(file=os.path.basename(final), start=s, stop=e,
                                 num_frames=m['num_frames'],
                                 clip_fraction=m['clip_fraction']))
                cur = None
    finally:
        if cur is not None:
            cur[0].close()
            if os.path.exists(cur[2]):
                os.remove(cur[2])
    return dict(source=source, source_rel_path=meta0['source_rel_path'], fps=fps,
                short_side=short_side, num_frames=n, detector=detector,
                snippet_seconds=snippet_seconds, min_seconds=min_seconds,
                shots=[list(s) for s in shots], snippets=done)


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

