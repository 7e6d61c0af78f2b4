"""Video input: decode, resample by time, resize, rawframes, list files, errors."""
import os

import cv2
import numpy as np
import pytest

from pico_mm.flow import VideoReadError, iter_frames, load_frames, parse_list_file
from pico_mm.flow.backends import DISBackend
from pico_mm.flow.extract import extract_video, list_inputs
from pico_mm.flow.video import resized_size, source_index


def write_video(path, n, fps=25.0, size=(240, 320), fourcc='MJPG'):
    """Frame i is a flat grey of level 8*i (its index is recoverable)."""
    h, w = size
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert vw.isOpened()
    for i in range(n):
        vw.write(np.full((h, w, 3), 8 * i + 4, np.uint8))
    vw.release()
    return str(path)


def index_of(frame):
    return int(round((float(frame.mean()) - 4) / 8))


def write_rawframes(folder, n, size=(60, 80)):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        cv2.imwrite(os.path.join(folder, f'img_{i + 1:05d}.jpg'),
                    np.full(size + (3,), 8 * i + 4, np.uint8))
    return str(folder)


@pytest.mark.parametrize('ext,fourcc', [('avi', 'MJPG'), ('mp4', 'mp4v'), ('mkv', 'mp4v')])
def test_resample_to_target_fps_by_nearest_time(tmp_path, ext, fourcc):
    p = write_video(tmp_path / f'v.{ext}', 20, fps=25, fourcc=fourcc)
    frames = load_frames(p, fps=30, short_side=None)
    # target j at j/30 s -> nearest source ceil(j*25/30 - .5); while < 20
    expect = [source_index(j, 25, 30) for j in range(30) if source_index(j, 25, 30) < 20]
    assert len(frames) == len(expect) == 24
    assert [index_of(f) for f in frames] == expect
    assert [index_of(f) for f in load_frames(p, fps=10, short_side=None)] == \
        [0, 2, 5, 7, 10, 12, 15, 17]
    assert len(load_frames(p, fps=None, short_side=None)) == 20


def test_resize_short_side(tmp_path):
    p = write_video(tmp_path / 'v.avi', 3, size=(240, 320))
    f = load_frames(p, fps=None, short_side=128)[0]
    assert f.shape == (128, 171, 3) and f.dtype == np.uint8
    assert resized_size(300, 200, 100) == (150, 100)
    assert resized_size(240, 320, 0) == (240, 320)
    assert load_frames(p, fps=None, short_side=240)[0].shape == (240, 320, 3)


def test_indices_match_full_decode(tmp_path):
    p = write_video(tmp_path / 'v.avi', 12, fps=30)
    full = load_frames(p, fps=30, short_side=64)
    some = load_frames(p, [7, 2, 7, 11], fps=30, short_side=64)
    for i, f in zip([7, 2, 7, 11], some):
        assert np.array_equal(f, full[i])
    with pytest.raises(IndexError, match='past the end'):
        load_frames(p, [12], fps=30, short_side=64)


def test_rawframes_folder(tmp_path):
    d = write_rawframes(tmp_path / 'rf' / 'clip', 6)
    frames = load_frames(d, fps=30, short_side=None)
    assert [index_of(f) for f in frames] == list(range(6))  # taken as already 30 Hz
    up = load_frames(d, fps=30, short_side=None, source_fps=15)
    assert [index_of(f) for f in up] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [j for j, _ in iter_frames(d, fps=30, short_side=None, stop=3)] == [0, 1, 2]


def test_list_files_and_folder_listing(tmp_path):
    write_video(tmp_path / 'vids' / 'cls a' / 'x.avi', 3)
    write_video(tmp_path / 'vids' / 'y.mp4', 3, fourcc='mp4v')
    write_rawframes(tmp_path / 'vids' / 'rf' / 'z', 3)
    (tmp_path / 'vids' / 'notes.txt').write_text('not a video')
    got = list_inputs(str(tmp_path / 'vids'))
    assert [(n, k) for n, _, k in got] == [('cls a/x', 'video'), ('rf/z', 'rawframes'),
                                          ('y', 'video')]
    vlist = tmp_path / 'vids' / 'train_list_videos.txt'
    vlist.write_text('y.mp4 3\n\n# comment\ncls a/x.avi 1\n'.replace('cls a/x.avi', 'y.mp4'))
    assert [n for n, _ in parse_list_file(str(vlist))] == ['y.mp4', 'y.mp4']
    rlist = tmp_path / 'rawframes_list.txt'
    rlist.write_text('rf/z 3 5\n')
    got = list_inputs(str(rlist), data_root=str(tmp_path / 'vids'))
    assert got == [('rf/z', str(tmp_path / 'vids' / 'rf' / 'z'), 'rawframes')]
    assert len(load_frames(got[0][1], fps=30, short_side=None)) == 3
    bad = tmp_path / 'bad_list.txt'
    bad.write_text('a b c\n')
    with pytest.raises(ValueError, match='bad_list.txt:1'):
        parse_list_file(str(bad))


def test_unreadable_sources_raise_named_errors(tmp_path):
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(os.urandom(3000))
    with pytest.raises(VideoReadError, match='junk.mp4'):
        load_frames(str(junk))
    with pytest.raises(VideoReadError, match='nope.mp4'):
        load_frames(str(tmp_path / 'nope.mp4'))
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(VideoReadError, match='img_00001.jpg'):
        load_frames(str(tmp_path / 'empty'))
    d = write_rawframes(tmp_path / 'broken', 3)
    with open(os.path.join(d, 'img_00002.jpg'), 'wb') as f:
        f.write(b'\xff\xd8 truncated')
    with pytest.raises(VideoReadError, match='img_00002.jpg'):
        load_frames(d, fps=None)
    full = write_video(tmp_path / 'full.avi', 40, fourcc='MJPG')
    data = open(full, 'rb').read()
    trunc = tmp_path / 'trunc.avi'
    trunc.write_bytes(data[:int(len(data) * 0.6)])   # header says 40 frames
    with pytest.raises(VideoReadError, match='trunc.avi: truncated'):
        load_frames(str(trunc), fps=None)
    assert len(load_frames(str(trunc), [3], fps=None)) == 1  # the head is still readable
    one = write_video(tmp_path / 'one.avi', 1)
    with pytest.raises(VideoReadError, match='too short'):
        extract_video(one, str(tmp_path / 'one.zip'), DISBackend(), 'video')


class RecordingBackend(DISBackend):
    def __init__(self):
        super().__init__('ultrafast')
        self.seen = []

    def __call__(self, f1, f2):
        if not self.seen:
            self.seen.append(f1[0])
        self.seen.extend(f2)
        return super().__call__(f1, f2)


def test_load_frames_gives_exactly_the_extractor_frames(tmp_path):
    rng = np.random.default_rng(0)
    p = str(tmp_path / 'tex.avi')
    vw = cv2.VideoWriter(p, cv2.VideoWriter_fourcc(*'MJPG'), 24, (150, 100))
    for i in range(9):
        vw.write(rng.integers(0, 255, (100, 150, 3), dtype=np.uint8))
    vw.release()
    be = RecordingBackend()
    meta = extract_video(p, str(tmp_path / 'tex.zip'), be, 'video', fps=30,
                         short_side=64, batch_size=3)
    frames = load_frames(p, fps=30, short_side=64)
    assert meta['num_frames'] == len(frames) == len(be.seen) == 11
    assert all(np.array_equal(a, b) for a, b in zip(frames, be.seen))
    from pico_mm.flow import load_store_frames
    again = load_store_frames(str(tmp_path / 'tex.zip'), [10, 0])
    assert np.array_equal(again[0], frames[10]) and np.array_equal(again[1], frames[0])
