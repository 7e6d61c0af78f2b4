"""Flow store: one zip of per-frame JPEG members per video (pure numpy/cv2).

Layout of ``<rel/path/of/video>.zip`` (members stored, not deflated)::

    flow_x_00000.jpg  flow_y_00000.jpg          forward flow  t -> t+1, t = 0
    bwd_flow_x_00000.jpg  bwd_flow_y_00000.jpg  backward flow t+1 -> t
    ...                                         t = 0 .. num_frames - 2
    frame_00000.jpg ...   (optional) the frames themselves, t = 0 .. num_frames - 1
    meta.json                                   written last

Indices are **0-based** (denseflow/mmaction2 use 1-based file names for
frames; here ``t`` is the pair index). Values are coded with
:mod:`pico_mm.flow.codec`. The zip is written deterministically (fixed member
order and timestamps), so the same input gives byte-identical files.
"""
import json
import os
import zipfile
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from .codec import decode_flow, dither_offsets, encode_flow
from .frame_store import FRAME_MEMBER, encode_frame, frame_member

FORMAT_VERSION = 1
CODEC_NAME = 'q=rint(v*127/B)+128 clip[1,255]; v=(q-128)*B/127'
DITHER_NAME = 'q=rint(v*127/B+d); d=frac(1/2+t*0.6180339887+k/4)-1/2, k=fx,fy,bx,by'
META_NAME = 'meta.json'
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
REQUIRED_META = ('bound', 'quality', 'num_frames', 'height', 'width', 'fps',
                 'short_side', 'source', 'source_kind', 'clip_fraction')


def member_names(t: int) -> Tuple[str, str, str, str]:
    """Member names ``(fwd_x, fwd_y, bwd_x, bwd_y)`` of pair ``t`` (0-based)."""
    return (f'flow_x_{t:05d}.jpg', f'flow_y_{t:05d}.jpg',
            f'bwd_flow_x_{t:05d}.jpg', f'bwd_flow_y_{t:05d}.jpg')


class FlowStoreWriter:
    """Stream flow pairs into a store zip.

    Example::

        with FlowStoreWriter(tmp_path, bound=20, quality=95) as w:
            for fwd, bwd in pairs:          # H×W×2 float32 each
                w.add_pair(fwd, bwd)
            w.finish(fps=30, short_side=256, source='a.mp4', source_kind='video')

    ``finish`` writes ``meta.json``; a writer closed without ``finish`` (an
    exception) leaves an incomplete file that the caller must discard (the
    batch job's atomic temp file does that).

    Args:
        path: Output file (normally a temp path).
        bound: Clip bound ``B`` in px.
        quality: JPEG quality 1..100.
        dither: Add the codec's temporal golden-ratio dither before rounding
            (default; see :mod:`pico_mm.flow.codec`). Reading is the same
            either way; ``meta['dither']`` records the choice.
        frame_quality: JPEG quality of the frames kept with :meth:`add_frame`
            (None: the store keeps no frames).
    """

    def __init__(self, path: str, bound: float = 20.0, quality: int = 95,
                 dither: bool = True, frame_quality: Optional[int] = None):
        if bound <= 0:
            raise ValueError(f'bound must be > 0, got {bound}')
        for name, q in (('', quality), ('frame ', frame_quality)):
            if q is not None and not 1 <= int(q) <= 100:
                raise ValueError(f'{name}JPEG quality must be in 1..100, got {q}')
        self.path = path
        self.bound = float(bound)
        self.quality = int(quality)
        self.dither = bool(dither)
        self.frame_quality = None if frame_quality is None else int(frame_quality)
        self.num_frames_kept = 0
        self.frame_bytes = 0
        self.num_pairs = 0
        self.size: Optional[Tuple[int, int]] = None
        self.clipped = 0
        self.values = 0
        self.finished = False
        self._zip = zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED)

    def _write(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        info.create_system = 3
        self._zip.writestr(info, data)

    def add_pair(self, fwd: np.ndarray, bwd: np.ndarray) -> None:
        """Append pair ``t = num_pairs``: forward (t→t+1), backward (t+1→t).

        Args:
            fwd: H×W×2 float flow, (x, y).
            bwd: H×W×2 float flow, (x, y).
        """
        if fwd.shape != bwd.shape:
            raise ValueError(f'fwd {fwd.shape} and bwd {bwd.shape} differ')
        hw = tuple(fwd.shape[:2])
        if self.size is None:
            self.size = hw
        elif hw != self.size:
            raise ValueError(f'flow size changed from {self.size} to {hw}')
        names = member_names(self.num_pairs)
        d = dither_offsets(self.num_pairs) if self.dither else (0.0,) * 4
        fx, fy, cf = encode_flow(fwd, self.bound, self.quality, d[:2])
        bx, by, cb = encode_flow(bwd, self.bound, self.quality, d[2:])
        for name, data in zip(names, (fx, fy, bx, by)):
            self._write(name, data)
        self.clipped += cf + cb
        self.values += 2 * fwd.size
        self.num_pairs += 1

    def add_frame(self, frame: np.ndarray) -> np.ndarray:
        """Keep frame ``t = num_frames_kept`` as ``frame_%05d.jpg``.

        Args:
            frame: uint8 H×W×3 BGR, as resampled and resized.

        Returns:
            np.ndarray: The frame decoded back from the stored JPEG; the
            caller computes the flow on it, so store frames and flow agree
            bit for bit.
        """
        if self.frame_quality is None:
            raise ValueError('this writer keeps no frames (frame_quality=None)')
        data, decoded = encode_frame(frame, self.frame_quality)
        self.add_frame_bytes(data)
        return decoded

    def add_frame_bytes(self, data: bytes) -> None:
        """Keep frame ``t = num_frames_kept`` from JPEG bytes already coded
        with :func:`~pico_mm.flow.frame_store.encode_frame` at
        ``frame_quality`` (the overlapped pipeline codes frames ahead of the
        estimator and hands the bytes over)."""
        if self.frame_quality is None:
            raise ValueError('this writer keeps no frames (frame_quality=None)')
        self._write(frame_member(self.num_frames_kept), data)
        self.num_frames_kept += 1
        self.frame_bytes += len(data)

    def finish(self, **meta) -> Dict:
        """Write ``meta.json`` (given keys plus the coding keys) and close.

        Returns:
            dict: The full meta written.
        """
        if self.num_pairs < 1 or self.size is None:
            raise ValueError('a flow store needs at least one pair (2 frames)')
        full = dict(meta)
        full.update(
            format_version=FORMAT_VERSION,
            codec=CODEC_NAME,
            dither=DITHER_NAME if self.dither else 'none',
            bound=self.bound,
            quality=self.quality,
            num_frames=self.num_pairs + 1,
            num_pairs=self.num_pairs,
            height=int(self.size[0]),
            width=int(self.size[1]),
            index_base=0,
            clipped_values=int(self.clipped),
            clip_fraction=float(self.clipped / max(self.values, 1)),
        )
        if self.frame_quality is not None:
            if self.num_frames_kept != self.num_pairs + 1:
                raise ValueError(f'kept {self.num_frames_kept} frames for '
                                 f'{self.num_pairs + 1} flow frames')
            full['frames'] = dict(member=FRAME_MEMBER, format='jpeg',
                                  quality=self.frame_quality, chroma='4:2:0',
                                  count=self.num_frames_kept,
                                  bytes=int(self.frame_bytes),
                                  flow_on='decoded store frames')
        missing = [k for k in REQUIRED_META if k not in full]
        if missing:
            raise ValueError(f'meta lacks required keys {missing}')
        self._write(META_NAME, json.dumps(full, sort_keys=True, indent=1).encode())
        self._zip.close()
        self.finished = True
        return full

    def close(self) -> None:
        """Close the file (without meta if :meth:`finish` was not called)."""
        if not self.finished:
            self._zip.close()

    def __enter__(self) -> 'FlowStoreWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FlowReader:
    """Random access to a flow store.

    Opens the zip once; not shareable across ``fork`` (open one per worker,
    or use the module functions which open per call).

    Args:
        path: Store zip.

    Raises:
        FileNotFoundError / ValueError: Missing, truncated or foreign file,
        with a message naming the file and the fix.
    """

    def __init__(self, path: str):
        self.path = path
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f'{path}: flow store not found (run tools/data/extract_flow.py '
                'to create it, or fix the path)')
        self._zip = None
        try:
            self._zip = zipfile.ZipFile(path, 'r')
            raw = self._zip.read(META_NAME)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
            if self._zip is not None:
                self._zip.close()
            raise ValueError(
                f'{path}: not a complete flow store zip ({type(e).__name__}: '
                f'{e}); delete it and re-run tools/data/extract_flow.py') from e
        self.meta: Dict = json.loads(raw.decode())
        missing = [k for k in REQUIRED_META if k not in self.meta]
        if missing:
            raise ValueError(f'{path}: meta.json lacks keys {missing}; '
                             're-run tools/data/extract_flow.py')
        self.bound = float(self.meta['bound'])
        self.num_frames = int(self.meta['num_frames'])

    @property
    def num_pairs(self) -> int:
        """Number of flow pairs (``num_frames - 1``)."""
        return self.num_frames - 1

    @property
    def frame_size(self) -> Tuple[int, int]:
        """``(H, W)`` of the flow fields (= the frames the extractor saw)."""
        return int(self.meta['height']), int(self.meta['width'])

    def read(self, t: int) -> Tuple[np.ndarray, np.ndarray]:
        """Flow pair ``t`` (0-based).

        Returns:
            tuple: ``(fwd, bwd)`` float32 H×W×2 (x, y): forward t→t+1 and
            backward t+1→t.
        """
        t = int(t)
        if not 0 <= t < self.num_pairs:
            raise IndexError(f'{self.path}: pair {t} out of range '
                             f'0..{self.num_pairs - 1}')
        fx, fy, bx, by = member_names(t)
        try:
            data = [self._zip.read(n) for n in (fx, fy, bx, by)]
        except (KeyError, zipfile.BadZipFile, OSError) as e:
            raise ValueError(f'{self.path}: cannot read pair {t} ({e}); '
                             're-run tools/data/extract_flow.py') from e
        name = f'{self.path}[{t}]'
        return (decode_flow(data[0], data[1], self.bound, name + ':fwd'),
                decode_flow(data[2], data[3], self.bound, name + ':bwd'))

    def __iter__(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        for t in range(self.num_pairs):
            yield self.read(t)

    def __len__(self) -> int:
        return self.num_pairs

    def read_all(self) -> Tuple[np.ndarray, np.ndarray]:
        """All pairs: ``(fwd, bwd)`` float32 (T-1)×H×W×2 each."""
        pairs = [self.read(t) for t in range(self.num_pairs)]
        return (np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))

    def close(self) -> None:
        """Close the zip."""
        self._zip.close()

    def __enter__(self) -> 'FlowReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_flow(path: str, t: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(fwd, bwd)`` float32 H×W×2 (x, y) of pair ``(t, t+1)`` of a store."""
    with FlowReader(path) as r:
        return r.read(t)


def num_frames(path: str) -> int:
    """Number of frames of a store (pairs = frames − 1)."""
    return int(read_meta(path)['num_frames'])


def read_meta(path: str) -> Dict:
    """The store's ``meta.json`` as a dict."""
    with FlowReader(path) as r:
        return dict(r.meta)


def store_bytes_member(path: str, name: str) -> bytes:
    """Raw bytes of one member (for inspection/tests)."""
    with zipfile.ZipFile(path) as z:
        return z.read(name)
