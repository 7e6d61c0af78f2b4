"""Video frames kept inside the flow store, read by index in O(1) (numpy/cv2).

The flow extractor already decodes, resamples and resizes every frame; with
``frame_quality`` set it also writes each frame into the video's flow store
zip as a JPEG member ``frame_%05d.jpg`` (0-based store index, like the flow
pairs), and ``meta['frames']`` records the coding. Training then reads the
two frames of a sample from the store instead of decoding the source video
from its start.

Bit identity: the extractor encodes frame ``t`` to JPEG, decodes those bytes
(:func:`encode_frame`) and feeds the **decoded** frame to the flow backend.
So the frames the flow (and the tracks) were computed on are exactly the
frames :class:`StoreFrames` decodes from the store later (same bytes, same
libjpeg-turbo decoder); the JPEG error is between the source video and the
frames of the whole pipeline, not between flow and training frames.

Reading: ``zipfile.ZipFile`` parses every central-directory entry on open
(~1.2 ms for 300 members, ~6 ms for the ~1500 members of a 10 s clip with
frames and flow). :class:`StoreIndex` instead reads the end record and the
central directory bytes once and finds a member by a bytes search, then reads
its local header and data with ``os.pread`` (no shared file offset, so a
reader may be used after ``fork``); the CRC is checked like zipfile does.
Stores are written with ``ZIP_STORED`` members only (the writer's format), a
ZIP64 or deflated store falls back to :mod:`zipfile`.
"""
import json
import os
import struct
import zipfile
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

FRAME_TMPL = 'frame_{:05d}.jpg'
FRAME_MEMBER = 'frame_%05d.jpg'
DEFAULT_FRAME_QUALITY = 90
META_NAME = 'meta.json'
_EOCD = b'PK\x05\x06'
_CDH = b'PK\x01\x02'
_LFH = b'PK\x03\x04'


def frame_member(t: int) -> str:
    """Member name of store frame ``t`` (0-based)."""
    return FRAME_TMPL.format(int(t))


def decode_frame(data: bytes, name: str = 'frame') -> np.ndarray:
    """uint8 H×W×3 BGR frame of JPEG ``data`` (cv2 / libjpeg-turbo)."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'{name}: corrupt frame JPEG; delete the store and '
                         're-run tools/data/extract_flow.py')
    return img


def encode_frame(frame: np.ndarray, quality: int) -> Tuple[bytes, np.ndarray]:
    """JPEG-code a frame and decode it back.

    Args:
        frame: uint8 H×W×3 BGR.
        quality: JPEG quality 1..100 (4:2:0 chroma, cv2's default).

    Returns:
        tuple: ``(jpeg_bytes, decoded)``; ``decoded`` (uint8 H×W×3 BGR) is
        what the flow backend sees and what the store gives back.
    """
    ok, buf = cv2.imencode('.jpg', frame, [
        cv2.IMWRITE_JPEG_QUALITY, int(quality),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])
    if not ok:
        raise ValueError(f'JPEG encoding failed for a {frame.shape} frame')
    data = buf.tobytes()
    return data, decode_frame(data)


class StoreIndex:
    """Member lookup in a stored zip without parsing every entry.

    Args:
        path: Zip file.

    Raises:
        ValueError: Not a complete zip (no end record: a half-written file).
    """

    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._zip: Optional[zipfile.ZipFile] = None
        try:
            size = os.fstat(self._fd).st_size
            tail_len = min(size, 22 + 65535)
            tail = os.pread(self._fd, tail_len, size - tail_len)
            i = tail.rfind(_EOCD)
            if i < 0 or len(tail) - i < 22:
                raise ValueError('no zip end record')
            n, cd_size, cd_off = struct.unpack_from('<10xHII', tail, i)
            if 0xFFFF == n or 0xFFFFFFFF in (cd_size, cd_off):
                self._zip = zipfile.ZipFile(path)  # ZIP64: the slow path
                self._cd = b''
            else:
                self._cd = os.pread(self._fd, cd_size, cd_off)
                if len(self._cd) != cd_size:
                    raise ValueError('central directory past the end of the file')
        except (ValueError, OSError, zipfile.BadZipFile, struct.error) as e:
            self.close()
            raise ValueError(
                f'{path}: not a complete flow store zip ({e}); delete it and '
                're-run tools/data/extract_flow.py') from e

    def _locate(self, name: str) -> Tuple[int, int, int, int]:
        key = name.encode()
        cd = self._cd
        pos = cd.find(key)
        while pos >= 0:
            h = pos - 46
            if h >= 0 and cd[h:h + 4] == _CDH and \
                    struct.unpack_from('<H', cd, h + 28)[0] == len(key):
                method, crc, csize, usize = struct.unpack_from('<HxxxxIII', cd, h + 10)
                lho = struct.unpack_from('<I', cd, h + 42)[0]
                return method, crc, csize, lho
            pos = cd.find(key, pos + 1)
        raise KeyError(name)

    def read(self, name: str) -> bytes:
        """Bytes of member ``name`` (CRC-checked).

        Raises:
            KeyError: No such member. ValueError: corrupt member.
        """
        if self._zip is not None:
            return self._zip.read(name)
        method, crc, size, lho = self._locate(name)
        head = os.pread(self._fd, 30, lho)
        if len(head) != 30 or head[:4] != _LFH:
            raise ValueError(f'{self.path}: bad local header of {name}')
        n, e = struct.unpack_from('<HH', head, 26)
        data = os.pread(self._fd, size, lho + 30 + n + e)
        if method != zipfile.ZIP_STORED:
            if method != zipfile.ZIP_DEFLATED:
                raise ValueError(f'{self.path}: {name} uses zip method {method}')
            data = zlib.decompress(data, -15)
        if zlib.crc32(data) != crc:
            raise ValueError(f'{self.path}: CRC mismatch in {name} (corrupt '
                             'file); delete it and re-run tools/data/extract_flow.py')
        return data

    def close(self) -> None:
        """Close the file."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        if getattr(self, '_fd', None) is not None:
            self.close()


class StoreFrames:
    """The frames of one flow store, by store index.

    Example::

        with StoreFrames('flow/cls/abc.zip') as s:
            if s.has_frames:
                img1, img2 = s.read_many([3, 40])   # uint8 H×W×3 BGR

    Args:
        path: Flow store zip (``tools/data/extract_flow.py``).

    Raises:
        FileNotFoundError: No such file. ValueError: incomplete or foreign
        file (no ``meta.json``: a store from an interrupted run).
    """

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f'{path}: flow store not found (run tools/data/extract_flow.py '
                'to create it, or fix the path)')
        self.path = path
        self.index = StoreIndex(path)
        try:
            self.meta: Dict = json.loads(self.index.read(META_NAME).decode())
        except (KeyError, ValueError) as e:
            self.index.close()
            raise ValueError(f'{path}: not a complete flow store (no readable '
                             f'meta.json: {e}); delete it and re-run '
                             'tools/data/extract_flow.py') from e
        self.frames: Optional[Dict] = self.meta.get('frames')

    @property
    def has_frames(self) -> bool:
        """True if the store keeps its frames (False for older stores)."""
        return bool(self.frames)

    @property
    def num_frames(self) -> int:
        """Frames of the video at the store's rate (``meta['num_frames']``)."""
        return int(self.meta['num_frames'])

    def read(self, t: int) -> np.ndarray:
        """Store frame ``t`` as uint8 H×W×3 BGR."""
        t = int(t)
        if not self.has_frames:
            raise ValueError(f'{self.path}: this store has no frames (written '
                             'without them); decode the source video or re-run '
                             'tools/data/extract_flow.py')
        if not 0 <= t < self.num_frames:
            raise IndexError(f'{self.path}: frame {t} out of range '
                             f'0..{self.num_frames - 1}')
        name = frame_member(t)
        try:
            data = self.index.read(name)
        except KeyError as e:
            raise ValueError(f'{self.path}: member {name} missing; delete the '
                             'store and re-run tools/data/extract_flow.py') from e
        return decode_frame(data, f'{self.path}:{name}')

    def read_many(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Frames ``indices`` (any order, repeats decoded once)."""
        got = {t: self.read(t) for t in dict.fromkeys(int(i) for i in indices)}
        return [got[int(i)] for i in indices]

    def close(self) -> None:
        """Close the file."""
        self.index.close()

    def __enter__(self) -> 'StoreFrames':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_store_frames(path: str, indices: Sequence[int]) -> List[np.ndarray]:
    """Frames ``indices`` (store indices) of a flow store that keeps frames."""
    with StoreFrames(path) as s:
        return s.read_many(indices)
