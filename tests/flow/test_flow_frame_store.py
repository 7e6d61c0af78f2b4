"""Frames kept in the flow store: bit identity with the flow's input, O(1)
member reads, incomplete stores refused, old stores fall back to the video."""
import os
import zipfile

import cv2
import numpy as np
import pytest

from pico_mm.flow import (FlowStoreWriter, StoreFrames, load_frames,
                          load_store_frames, read_meta, read_store_frames)
from pico_mm.flow.backends import DISBackend
from pico_mm.flow.extract import extract_snippets, extract_video
from pico_mm.flow.frame_store import StoreIndex, encode_frame, frame_member


class RecordingBackend(DISBackend):
    """DIS that remembers every frame it was given, in order."""

    def __init__(self):
        super().__init__('ultrafast')
        self.seen = []

    def __call__(self, f1, f2):
        if not self.seen:
            self.seen.append(f1[0].copy())
        self.seen.extend(f.copy() for f in f2)
        return super().__call__(f1, f2)


def write_video(path, n=9, size=(100, 150), fps=24):
    """Smooth texture panning 2 px/frame (JPEG keeps it close, not exact)."""
    rng = np.random.default_rng(0)
    h, w = size
    big = cv2.GaussianBlur(rng.uniform(0, 255, (h + 40, w + 40 + 2 * n, 3)),
                           (0, 0), 4)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    for i in range(n):
        vw.write(np.ascontiguousarray(big[20:20 + h, 2 * i:2 * i + w]))
    vw.release()
    return str(path)


def test_store_frames_are_exactly_the_flow_input(tmp_path):
    src = write_video(tmp_path / 'v.avi')
    be = RecordingBackend()
    meta = extract_video(src, str(tmp_path / 'v.zip'), be, 'video', fps=30,
                         short_side=64, batch_size=3, frame_quality=90)
    assert meta['frames']['count'] == meta['num_frames'] == len(be.seen) == 11
    stored = load_store_frames(str(tmp_path / 'v.zip'))
    assert len(stored) == 11
    for a, b in zip(stored, be.seen):  # what training reads == what flow saw
        assert a.dtype == np.uint8 and np.array_equal(a, b)
    # ... and what flow saw is the resampled, resized source frame, JPEG-coded
    raw = load_frames(src, fps=30, short_side=64)
    for r, s in zip(raw, stored):
        assert np.array_equal(encode_frame(r, 90)[1], s)
        mse = np.mean((r.astype(float) - s) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 30  # PSNR in dB
    assert not all(np.array_equal(r, s) for r, s in zip(raw, stored))
    # random access in any order, repeats
    got = read_store_frames(str(tmp_path / 'v.zip'), [10, 0, 10])
    assert np.array_equal(got[0], stored[10]) and np.array_equal(got[1], stored[0])
    assert np.array_equal(got[2], stored[10])
    # the source decode stays available for comparison
    again = load_store_frames(str(tmp_path / 'v.zip'), [4], from_store=False)
    assert np.array_equal(again[0], raw[4])


def test_snippet_stores_keep_their_own_frames(tmp_path):
    src = write_video(tmp_path / 'long.avi', n=40, fps=10)
    man = extract_snippets(src, str(tmp_path / 'out'), DISBackend('ultrafast'),
                           fps=10, short_side=0, snippet_seconds=1.5,
                           min_seconds=0.5, frame_quality=80)
    full = load_frames(src, fps=10, short_side=0)
    assert len(man['snippets']) >= 2
    for sn in man['snippets']:
        z = str(tmp_path / 'out' / sn['file'])
        frames = load_store_frames(z)
        assert len(frames) == sn['num_frames'] == sn['stop'] - sn['start']
        for t, f in enumerate(frames):
            assert np.array_equal(f, encode_frame(full[sn['start'] + t], 80)[1])


def test_index_reads_every_member_like_zipfile(tmp_path):
    src = write_video(tmp_path / 'v.avi')
    p = str(tmp_path / 'v.zip')
    extract_video(src, p, DISBackend('ultrafast'), 'video', fps=30,
                  short_side=48, frame_quality=75)
    names = zipfile.ZipFile(p).namelist()
    assert frame_member(0) in names and 'bwd_flow_x_00000.jpg' in names
    assert 'flow_x_00000.jpg' in names  # also a suffix of the bwd name
    ix = StoreIndex(p)
    with zipfile.ZipFile(p) as z:
        for name in names:
            assert ix.read(name) == z.read(name), name
    with pytest.raises(KeyError):
        ix.read('frame_99999.jpg')
    ix.close()
    # a deflated member (a zip re-packed by another tool) still reads
    d = str(tmp_path / 'deflated.zip')
    with zipfile.ZipFile(d, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('a.bin', b'abc' * 1000)
    assert StoreIndex(d).read('a.bin') == b'abc' * 1000
    # a flipped byte inside a member is caught by the CRC
    data = bytearray(open(p, 'rb').read())
    info = zipfile.ZipFile(p).getinfo(frame_member(3))  # local extra is empty
    off = info.header_offset + 30 + len(info.filename) + info.file_size // 2
    data[off] ^= 0xFF
    bad = tmp_path / 'bad.zip'
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match='bad.zip: CRC mismatch'):
        read_store_frames(str(bad), [3])


def test_incomplete_stores_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.zip.*extract_flow'):
        StoreFrames(str(tmp_path / 'nope.zip'))
    # killed before finish(): closed zip without meta.json
    p = str(tmp_path / 'nometa.zip')
    w = FlowStoreWriter(p, frame_quality=90)
    f = np.zeros((8, 8, 3), np.uint8)
    w.add_frame(f)
    w.add_frame(f)
    w.add_pair(np.zeros((8, 8, 2)), np.zeros((8, 8, 2)))
    w.close()
    with pytest.raises(ValueError, match='nometa.zip: not a complete flow store'):
        StoreFrames(p)
    # killed mid-write: no central directory at all
    src = write_video(tmp_path / 'v.avi')
    full = str(tmp_path / 'full.zip')
    extract_video(src, full, DISBackend('ultrafast'), 'video', fps=30,
                  short_side=48, frame_quality=90)
    data = open(full, 'rb').read()
    for cut in (len(data) // 3, len(data) - 30):
        trunc = tmp_path / f'trunc{cut}.zip'
        trunc.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f'trunc{cut}.zip: not a complete'):
            read_store_frames(str(trunc), [0])


def test_old_store_without_frames_falls_back_to_the_video(tmp_path):
    src = write_video(tmp_path / 'v.avi')
    p = str(tmp_path / 'old.zip')
    be = RecordingBackend()
    extract_video(src, p, be, 'video', fps=30, short_side=64)  # no frames
    assert 'frames' not in read_meta(p)
    assert not any(n.startswith('frame_') for n in zipfile.ZipFile(p).namelist())
    with StoreFrames(p) as s:
        assert not s.has_frames and s.num_frames == 11
        with pytest.raises(ValueError, match='old.zip: this store has no frames'):
            s.read(0)
    got = load_store_frames(p, [7, 2])  # decoded from the source video
    assert np.array_equal(got[0], be.seen[7]) and np.array_equal(got[1], be.seen[2])


def test_writer_checks_frames(tmp_path):
    with pytest.raises(ValueError, match='frame JPEG quality'):
        FlowStoreWriter(str(tmp_path / 'a.zip'), frame_quality=101)
    w = FlowStoreWriter(str(tmp_path / 'b.zip'))
    with pytest.raises(ValueError, match='keeps no frames'):
        w.add_frame(np.zeros((4, 4, 3), np.uint8))
    w.close()
    w = FlowStoreWriter(str(tmp_path / 'c.zip'), frame_quality=90)
    w.add_frame(np.zeros((4, 4, 3), np.uint8))
    w.add_pair(np.zeros((4, 4, 2)), np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match='kept 1 frames for 2'):
        w.finish(fps=30, short_side=None, source='x', source_kind='video')
    w.close()
    assert os.path.isfile(tmp_path / 'c.zip')  # the caller's temp file to discard
