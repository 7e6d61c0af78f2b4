"""DAVIS-2017 layout: round trip with several objects, one clear error per fault."""
import os

import numpy as np
import pytest
from PIL import Image

from pico_mm.evaluation.davis_layout import (ClipTracks, DavisLayoutError,
                                             davis_palette, list_clips,
                                             load_tracks, write_annotations,
                                             write_frames, write_image_set,
                                             write_tracks)


def _folder(root, T=4, names=('a', 'b')):
    rng = np.random.default_rng(0)
    data = {}
    for name in names:
        blocks = rng.integers(0, 256, (T, 3, 4, 3), dtype=np.uint8)
        frames = blocks.repeat(8, axis=1).repeat(8, axis=2)  # JPEG-friendly
        masks = np.zeros((T, 24, 32), np.uint8)
        masks[:, 2:10, 3:12] = 1
        masks[:, 12:20, 15:30] = 2
        masks[:, 0:3, 28:32] = 3
        write_frames(str(root), name, frames)
        write_annotations(str(root), name, masks)
        data[name] = (frames, masks)
    write_image_set(str(root), 'val', list(names))
    return data


def test_round_trip_with_several_objects(tmp_path):
    data = _folder(tmp_path)
    clips = list_clips(str(tmp_path), 'val')
    assert [c.name for c in clips] == ['a', 'b']
    for c in clips:
        frames, masks = data[c.name]
        assert [os.path.basename(p) for p in c.frames] == [
            '00000.jpg', '00001.jpg', '00002.jpg', '00003.jpg']
        assert (c.read_masks() == masks).all()
        got = c.read_frames().astype(int)
        assert got.shape == frames.shape and np.median(np.abs(got - frames)) <= 3
    with Image.open(clips[0].annotations[0]) as im:  # DAVIS's palette PNG
        assert im.mode == 'P'
        assert np.array(im.getpalette()[:12]).reshape(4, 3).tolist() == \
            davis_palette()[:4].tolist()
    assert davis_palette()[1].tolist() == [128, 0, 0]
    assert [c.name for c in list_clips(str(tmp_path), 'val', clips=['b'])] == ['b']


@pytest.mark.parametrize('rel,what', [
    (('JPEGImages', '480p', 'b', '00002.jpg'), 'missing frame'),
    (('Annotations', '480p', 'a', '00003.png'), 'missing annotation')])
def test_missing_frame_or_annotation_is_one_error_naming_it(tmp_path, rel, what):
    _folder(tmp_path)
    gone = tmp_path.joinpath(*rel)
    gone.unlink()
    with pytest.raises(DavisLayoutError) as e:
        list_clips(str(tmp_path), 'val')
    assert str(gone) in str(e.value) and what in str(e.value)
    assert '\n' not in str(e.value)


def test_missing_image_set_and_clip_folder(tmp_path):
    with pytest.raises(DavisLayoutError, match='ImageSets/2017/val.txt: missing'):
        list_clips(str(tmp_path), 'val')
    _folder(tmp_path)
    write_image_set(str(tmp_path), 'val', ['a', 'zz'])
    with pytest.raises(DavisLayoutError, match='zz'):
        list_clips(str(tmp_path), 'val')


def test_rgb_annotation_is_refused(tmp_path):
    _folder(tmp_path, names=('a', ))
    path = tmp_path / 'Annotations' / '480p' / 'a' / '00000.png'
    Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(path)
    with pytest.raises(DavisLayoutError, match='palette PNG'):
        list_clips(str(tmp_path), 'val')[0].read_masks()


def test_tracks_round_trip(tmp_path):
    tr = ClipTracks(np.array([0, 0, 2], np.int16),
                    np.arange(18, dtype=np.float32).reshape(3, 3, 2),
                    np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1]], bool),
                    np.array([0, 1, 2], np.uint8))
    write_tracks(str(tmp_path), 'a', tr)
    back = load_tracks(str(tmp_path), 'a')
    src, dst, obj = back.pair(0, 2)
    assert src.tolist() == [[6.0, 7.0]] and dst.tolist() == [[10.0, 11.0]]
    assert obj.tolist() == [1]
    assert back.pair(1, 2, query_frame=2)[2].tolist() == [2]
    with pytest.raises(DavisLayoutError, match='render_clips'):
        load_tracks(str(tmp_path), 'b')
