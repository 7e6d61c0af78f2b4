"""Shot detection (histogram, TransNetV2 files) and snippet cutting."""
import os

import cv2
import numpy as np

from pico_mm.flow.backends import DISBackend
from pico_mm.flow.extract import extract_snippets
from pico_mm.flow.shots import (detect_shots, histogram_shots, make_snippets,
                                predictions_to_scenes, source_to_target_shots)
from pico_mm.flow import load_frames, load_store_frames, num_frames


def texture(seed, h=72, w=96, tint=(1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, (h * 2, w * 2, 3)).astype(np.float32), (0, 0), 3)
    t = (t - t.min()) / (t.max() - t.min()) * 255 * np.array(tint)
    return np.clip(t, 0, 255).astype(np.uint8)


def cut_video(path, n1=20, n2=25, fps=10):
    """Shot 1: panning reddish texture; shot 2: panning bluish texture."""
    a, b = texture(0, tint=(0.3, 0.5, 1.0)), texture(1, tint=(1.0, 0.6, 0.2))
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (96, 72))
    for i in range(n1):
        vw.write(np.ascontiguousarray(a[i:i + 72, i:i + 96]))
    for i in range(n2):
        vw.write(np.ascontiguousarray(b[i:i + 72, 2 * i:2 * i + 96]))
    vw.release()
    return str(path)


def test_histogram_detector_finds_synthetic_cut(tmp_path):
    p = cut_video(tmp_path / 'cut.avi')
    frames = load_frames(p, fps=None, short_side=None)
    assert histogram_shots(frames) == [(0, 19), (20, 44)]
    shots, n, det = detect_shots(p, fps=20)   # resampled: cut at target frame 40
    assert det == 'histogram' and n == 90 and shots == [(0, 39), (40, 89)]


def test_no_cut_in_a_pan(tmp_path):
    frames = [np.ascontiguousarray(texture(0)[i:i + 72, i:i + 96]) for i in range(30)]
    assert histogram_shots(frames) == [(0, 29)]
    assert histogram_shots([]) == []


def test_transnet_files_are_used_and_mapped(tmp_path):
    p = cut_video(tmp_path / 'cut.avi')
    with open(p + '.scenes.txt', 'w') as f:
        f.write('0 9\n10 44\n')       # a (wrong, but given) cut at source frame 10
    shots, n, det = detect_shots(p, fps=20)
    assert det == 'transnetv2' and shots == [(0, 19), (20, 89)]
    os.remove(p + '.scenes.txt')
    pred = np.zeros((45, 2))
    pred[29:31, 0] = 0.9
    np.savetxt(p + '.predictions.txt', pred)
    shots, _, det = detect_shots(p, fps=10)
    assert det == 'transnetv2' and shots == [(0, 29), (31, 44)]
    assert predictions_to_scenes(np.zeros(5)) == [(0, 4)]


def test_source_to_target_mapping():
    assert source_to_target_shots([(0, 4), (5, 9)], 20, 10, 20) == [(0, 9), (10, 19)]
    assert source_to_target_shots([(0, 0), (1, 9)], 4, 10, 3) == [(0, 0), (1, 2)]


def test_make_snippets():
    # 10 s at 3 fps = 30 frames; remainders kept if >= 2 s = 6 frames
    assert make_snippets([(0, 69)], fps=3, snippet_seconds=10) == [(0, 30), (30, 60), (60, 70)]
    assert make_snippets([(0, 63)], fps=3, snippet_seconds=10) == [(0, 30), (30, 60)]
    assert make_snippets([(0, 9), (10, 49)], fps=3, snippet_seconds=10) == \
        [(0, 10), (10, 40), (40, 50)]


def test_extract_snippets_writes_one_store_per_snippet(tmp_path):
    p = cut_video(tmp_path / 'cut.avi', n1=20, n2=25, fps=10)
    os.makedirs(tmp_path / 'out')
    open(tmp_path / 'out' / '.snippet_000010.zip.tmp4242.zip', 'wb').close()  # killed run
    man = extract_snippets(p, str(tmp_path / 'out'), DISBackend('ultrafast'), fps=10,
                           short_side=None, snippet_seconds=1.0, min_seconds=0.5)
    assert man['shots'] == [[0, 19], [20, 44]]
    assert [(s['start'], s['stop']) for s in man['snippets']] == \
        [(0, 10), (10, 20), (20, 30), (30, 40), (40, 45)]
    names = sorted(os.listdir(tmp_path / 'out'))
    assert names == [f'snippet_{s:06d}.zip' for s in (0, 10, 20, 30, 40)]
    z = str(tmp_path / 'out' / 'snippet_000030.zip')
    assert num_frames(z) == 10
    full = load_frames(p, fps=10, short_side=None)
    assert np.array_equal(load_store_frames(z, [0])[0], full[30])
