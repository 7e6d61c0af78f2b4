"""Flow store: random access, determinism, meta, bad files."""
import json
import zipfile

import numpy as np
import pytest

from pico_mm.flow import (FlowReader, FlowStoreWriter, member_names, num_frames,
                          read_flow, read_meta)
from pico_mm.flow.codec import dither_offsets


def write_store(path, pairs, **kw):
    with FlowStoreWriter(str(path), bound=kw.pop('bound', 20.0),
                         quality=kw.pop('quality', 95)) as w:
        for f, b in pairs:
            w.add_pair(f, b)
        return w.finish(fps=30, short_side=256, source='v.mp4', source_kind='video', **kw)


def make_pairs(n=5, h=20, w=28, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):  # piecewise-constant fields survive JPEG well
        f = np.zeros((h, w, 2), np.float32)
        f[..., 0] = t - 2.0
        f[:, w // 2:, 1] = rng.uniform(-5, 5)
        out.append((f, -f))
    return out


def test_random_access_round_trip(tmp_path):
    pairs = make_pairs()
    p = tmp_path / 'a.zip'
    meta = write_store(p, pairs)
    assert num_frames(str(p)) == 6 == meta['num_frames']
    for t in [3, 0, 4, 1]:
        fwd, bwd = read_flow(str(p), t)
        assert fwd.shape == (20, 28, 2) and fwd.dtype == np.float32
        np.testing.assert_allclose(fwd, pairs[t][0], atol=0.35)  # JPEG ringing at the step edge
        np.testing.assert_allclose(bwd, pairs[t][1], atol=0.35)  # JPEG ringing at the step edge
        # a constant component decodes exactly to its (dithered) level
        level = np.rint((t - 2) * 127 / 20 + dither_offsets(t)[0])
        assert np.all(fwd[..., 0] == np.float32(level * 20 / 127))
    with FlowReader(str(p)) as r:
        allf, allb = r.read_all()
        assert allf.shape == (5, 20, 28, 2) and r.frame_size == (20, 28)
        with pytest.raises(IndexError):
            r.read(5)


def test_meta_and_layout(tmp_path):
    p = tmp_path / 'a.zip'
    write_store(p, make_pairs(2))
    meta = read_meta(str(p))
    for k in ('bound', 'quality', 'num_frames', 'height', 'width', 'fps',
              'short_side', 'source', 'source_kind', 'clip_fraction'):
        assert k in meta
    names = zipfile.ZipFile(p).namelist()
    assert names == list(member_names(0)) + list(member_names(1)) + ['meta.json']
    assert names[0] == 'flow_x_00000.jpg' and names[3] == 'bwd_flow_y_00000.jpg'
    assert json.loads(zipfile.ZipFile(p).read('meta.json'))['index_base'] == 0


def test_writing_is_deterministic(tmp_path):
    a, b = tmp_path / 'a.zip', tmp_path / 'b.zip'
    write_store(a, make_pairs(3))
    write_store(b, make_pairs(3))
    assert a.read_bytes() == b.read_bytes()


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.zip.*extract_flow'):
        read_flow(str(tmp_path / 'missing.zip'), 0)
    p = tmp_path / 'a.zip'
    write_store(p, make_pairs(3))
    trunc = tmp_path / 'trunc.zip'
    trunc.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2])
    with pytest.raises(ValueError, match='trunc.zip.*re-run'):
        read_flow(str(trunc), 0)
    nometa = tmp_path / 'nometa.zip'
    w = FlowStoreWriter(str(nometa))
    w.add_pair(*make_pairs(1)[0])
    w.close()  # killed before finish(): no meta.json
    with pytest.raises(ValueError, match='nometa.zip'):
        num_frames(str(nometa))


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        FlowStoreWriter(str(tmp_path / 'x.zip'), quality=0)
    w = FlowStoreWriter(str(tmp_path / 'y.zip'))
    with pytest.raises(ValueError, match='size changed'):
        w.add_pair(np.zeros((4, 4, 2)), np.zeros((4, 4, 2)))
        w.add_pair(np.zeros((5, 4, 2)), np.zeros((5, 4, 2)))
    w.close()
    with pytest.raises(ValueError, match='at least one pair'):
        with FlowStoreWriter(str(tmp_path / 'z.zip')) as w2:
            w2.finish(fps=30, short_side=None, source='x', source_kind='video')
