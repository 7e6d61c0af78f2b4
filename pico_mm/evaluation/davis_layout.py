"""Read and write video-segmentation folders in the DAVIS-2017 layout.

::

    ROOT/JPEGImages/<res>/<clip>/00000.jpg ...   frames
    ROOT/Annotations/<res>/<clip>/00000.png ...  palette PNGs: 0 background,
                                                 1..N objects (255 = void, ignored)
    ROOT/ImageSets/2017/<split>.txt              one clip name per line
    ROOT/Correspondences/<clip>.npz              (rendered clips only) exact tracks

``<res>`` is ``480p`` in DAVIS-2017 (the rendered clips keep the folder name at a
smaller size). The reader checks the layout up front and raises
:class:`DavisLayoutError` with one line naming the missing file and the fix. All
writes go to a temp file that is renamed (never a half-written file).

Pure numpy/cv2/PIL: no torch.
"""
import io
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from pico_mm.utils.atomic_io import atomic_output, atomic_write_bytes

__all__ = ['DavisLayoutError', 'DavisClip', 'ClipTracks', 'davis_palette',
           'list_clips', 'read_split', 'write_frames', 'write_annotations',
           'write_image_set', 'write_tracks', 'load_tracks']


class DavisLayoutError(RuntimeError):
    """The folder is not in the DAVIS-2017 layout; the message names file and fix."""


def davis_palette() -> np.ndarray:
    """The DAVIS / PASCAL VOC palette (256×3 uint8), integer bit arithmetic."""
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


@dataclass
class DavisClip:
    """One sequence of a DAVIS-layout folder.

    Attributes:
        name (str): Sequence name.
        frames (list[str]): Frame paths, in order.
        annotations (list[str]): Annotation path of every frame (same order).
    """
    name: str
    frames: List[str]
    annotations: List[str]

    def read_frames(self) -> np.ndarray:
        """uint8 T×H×W×3 BGR frames."""
        out = []
        for path in self.frames:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise DavisLayoutError(f'{path}: unreadable image; re-extract it '
                                       'or remove the clip from the image set')
            out.append(img)
        return np.stack(out)

    def read_masks(self) -> np.ndarray:
        """uint8 T×H×W object ids (palette indices; 255 = void)."""
        return np.stack([read_annotation(p) for p in self.annotations])


def read_annotation(path: str) -> np.ndarray:
    """One annotation PNG as uint8 H×W palette indices."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            if im.mode not in ('P', 'L'):
                raise DavisLayoutError(
                    f'{path}: mode {im.mode}, expected a palette PNG (mode P) '
                    'whose indices are object ids; save it with Image.putpalette')
            return np.array(im, np.uint8)
    except OSError as e:
        raise DavisLayoutError(f'{path}: unreadable annotation ({e}); '
                               're-export it as a palette PNG') from None


def read_split(root: str, split: str) -> List[str]:
    """Clip names of ``ImageSets/2017/<split>.txt``."""
    path = osp.join(root, 'ImageSets', '2017', f'{split}.txt')
    if not osp.isfile(path):
        raise DavisLayoutError(
            f'{path}: missing; pass the root of a DAVIS-2017 folder (it holds '
            'JPEGImages/, Annotations/, ImageSets/2017/) and a split it lists')
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


def list_clips(root: str, split: str, resolution: str = '480p',
               clips: Optional[Sequence[str]] = None) -> List[DavisClip]:
    """Check and list the clips of a split (every frame needs an annotation).

    Args:
        root (str): Folder in the DAVIS-2017 layout.
        split (str): Image set name (``train``, ``val``, ``test``...).
        resolution (str): Sub-folder of ``JPEGImages`` / ``Annotations``.
        clips (Sequence[str], optional): Only these clips of the split.

    Returns:
        list[DavisClip]: In image-set order.

    Raises:
        DavisLayoutError: a missing folder, frame (a gap in the numbering) or
            annotation, naming the file and the fix.
    """
    names = read_split(root, split)
    if clips:
        unknown = sorted(set(clips) - set(names))
        if unknown:
            raise DavisLayoutError(f'{unknown[0]}: not in ImageSets/2017/'
                                   f'{split}.txt of {root}; pick a listed clip')
        names = [n for n in names if n in set(clips)]
    out = []
    for name in names:
        fdir = osp.join(root, 'JPEGImages', resolution, name)
        adir = osp.join(root, 'Annotations', resolution, name)
        if not osp.isdir(fdir):
            raise DavisLayoutError(
                f'{fdir}: missing frame folder of clip {name} (listed in '
                f'ImageSets/2017/{split}.txt); add the frames or drop the clip '
                'from the list (--resolution picks the sub-folder)')
        stems = sorted(osp.splitext(f)[0] for f in os.listdir(fdir)
                       if f.endswith('.jpg'))
        if not stems:
            raise DavisLayoutError(f'{fdir}: no .jpg frames; add them or drop '
                                   f'the clip from ImageSets/2017/{split}.txt')
        for k, stem in enumerate(stems):
            want = f'{int(stems[0]) + k:05d}' if stems[0].isdigit() else stem
            if stem != want:
                raise DavisLayoutError(
                    f'{osp.join(fdir, want + ".jpg")}: missing frame (the '
                    f'numbering jumps to {stem}.jpg); restore it or renumber '
                    'the frames without gaps')
        anns = [osp.join(adir, s + '.png') for s in stems]
        for path in anns:
            if not osp.isfile(path):
                raise DavisLayoutError(
                    f'{path}: missing annotation; every frame needs one to be '
                    'scored (use DAVIS-2017 trainval, not test-dev, or add it)')
        out.append(DavisClip(name, [osp.join(fdir, s + '.jpg') for s in stems],
                             anns))
    return out


def write_frames(root: str, name: str, frames: np.ndarray,
                 resolution: str = '480p', quality: int = 95) -> None:
    """Write uint8 T×H×W×3 BGR frames as ``JPEGImages/<res>/<name>/%05d.jpg``."""
    for t, img in enumerate(frames):
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError(f'{name} frame {t}: JPEG encoding failed')
        atomic_write_bytes(osp.join(root, 'JPEGImages', resolution, name,
                                    f'{t:05d}.jpg'), buf.tobytes())


def write_annotations(root: str, name: str, masks: np.ndarray,
                      resolution: str = '480p') -> None:
    """Write uint8 T×H×W object ids as palette PNGs ``Annotations/<res>/<name>/``."""
    from PIL import Image
    pal = davis_palette().reshape(-1).tolist()
    for t, m in enumerate(masks):
        im = Image.fromarray(np.ascontiguousarray(m, np.uint8), mode='P')
        im.putpalette(pal)
        buf = io.BytesIO()
        im.save(buf, format='PNG')
        atomic_write_bytes(osp.join(root, 'Annotations', resolution, name,
                                    f'{t:05d}.png'), buf.getvalue())


def write_image_set(root: str, split: str, names: Sequence[str]) -> None:
    """Write ``ImageSets/2017/<split>.txt``."""
    atomic_write_bytes(osp.join(root, 'ImageSets', '2017', f'{split}.txt'),
                       ''.join(n + '\n' for n in names).encode())


@dataclass
class ClipTracks:
    """Exact tracks of a rendered clip (``Correspondences/<clip>.npz``).

    Attributes:
        query_frame (np.ndarray): N int: frame each point was placed on.
        tracks (np.ndarray): N×T×2 float32 ``(x, y)`` in every frame (also hidden).
        visible (np.ndarray): N×T bool (in frame and not occluded).
        obj_id (np.ndarray): N uint8 instance id (0 = background).
    """
    query_frame: np.ndarray
    tracks: np.ndarray
    visible: np.ndarray
    obj_id: np.ndarray

    def pair(self, t1: int, t2: int, query_frame: Optional[int] = None):
        """``(src, dst, obj_id)`` of the points visible in frames ``t1`` and ``t2``.

        ``query_frame`` keeps only the points placed on that frame.
        """
        keep = self.visible[:, t1] & self.visible[:, t2]
        if query_frame is not None:
            keep &= self.query_frame == query_frame
        return self.tracks[keep, t1], self.tracks[keep, t2], self.obj_id[keep]


def write_tracks(root: str, name: str, tracks: ClipTracks, **meta) -> None:
    """Write ``Correspondences/<name>.npz`` (``meta``: extra scalar/str fields)."""
    path = osp.join(root, 'Correspondences', f'{name}.npz')
    with atomic_output(path) as tmp:
        np.savez_compressed(tmp, query_frame=tracks.query_frame,
                            tracks=tracks.tracks, visible=tracks.visible,
                            obj_id=tracks.obj_id, **meta)


def load_tracks(root: str, name: str) -> ClipTracks:
    """Read ``Correspondences/<name>.npz``."""
    path = osp.join(root, 'Correspondences', f'{name}.npz')
    if not osp.isfile(path):
        raise DavisLayoutError(
            f'{path}: missing exact correspondences (only rendered clips have '
            'them: tools/data/render_clips.py); run without point metrics')
    with np.load(path) as z:
        return ClipTracks(z['query_frame'], z['tracks'], z['visible'],
                          z['obj_id'])


def split_names(root: str) -> Dict[str, List[str]]:
    """``{split: clip names}`` of every ``ImageSets/2017/*.txt``."""
    d = osp.join(root, 'ImageSets', '2017')
    if not osp.isdir(d):
        return {}
    return {osp.splitext(f)[0]: read_split(root, osp.splitext(f)[0])
            for f in sorted(os.listdir(d)) if f.endswith('.txt')}
