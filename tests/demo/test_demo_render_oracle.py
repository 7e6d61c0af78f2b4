"""PiCo-oracle tracks: PiCo's seeds, the renderer's exact motion (issue 19)."""
import numpy as np
import pytest

from pico_mm.demo.render import ClipConfig, exact_correspondences, render_clip
from pico_mm.demo.render.oracle_tracks import oracle_tracks, seeds_of
from pico_mm.tracking.sampling import anchor_sample
from pico_mm.tracking.tracker import sample_seeds
from pico_mm.tracking.tracks import (STOP_END, STOP_INCONSISTENT, STOP_LEFT,
                                     Tracks)


@pytest.fixture(scope='module')
def clip():
    return render_clip('train', 0, ClipConfig(48, 80, 12, 3))


def _dis_like(num_frames, size, n=300, seed=0):
    """Seed-only tracks of a DIS file's shape (what the oracle keeps of it)."""
    start, xy = sample_seeds(n, num_frames, size, np.random.default_rng(seed))
    return Tracks(start, np.ones(n), np.full(n, STOP_LEFT), xy,
                  np.zeros((0, 2)), num_frames, size,
                  dict(alpha=0.02, beta=1.0, flow_path='x.zip'))


@pytest.mark.parametrize('size', [(48, 80), (24, 40)])
def test_oracle_tracks_follow_the_exact_motion_while_visible(clip, size):
    dis = _dis_like(clip.scene.num_frames, size)
    orc = oracle_tracks(clip.scene, dis)
    start, xy = seeds_of(dis)
    assert np.array_equal(orc.start, dis.start)
    assert np.array_equal(seeds_of(orc)[1], xy)  # same seeds
    assert orc.meta['oracle'] and orc.meta['flow_path'] == 'x.zip'
    s = clip.scene.width / size[1]
    src_all = (xy.astype(np.float64) + 0.5) * s - 0.5
    checked = {STOP_END: 0, STOP_LEFT: 0, STOP_INCONSISTENT: 0}
    for i in range(orc.num_tracks):
        t0, end = int(orc.start[i]), int(orc.end[i])
        for t in range(t0 + 1, clip.scene.num_frames):
            c = exact_correspondences(clip.scene, t0, t, src_all[i:i + 1])
            want = (c.dst[0] + 0.5) / s - 0.5
            inside = (0 <= want[0] <= size[1] - 1) and (0 <= want[1] <= size[0] - 1)
            if t <= end:
                assert c.visible[0] and inside, (i, t)
                got = orc.positions([i], t)[0]
                np.testing.assert_allclose(got, want, atol=1e-4)
            else:  # first frame it is lost: the stop reason says why
                assert not (c.visible[0] and inside)
                assert orc.stop[i] == (STOP_INCONSISTENT if inside else STOP_LEFT)
                break
        if end == clip.scene.num_frames - 1:
            assert orc.stop[i] == STOP_END
        checked[int(orc.stop[i])] += 1
    assert checked[STOP_END] > 0 and checked[STOP_INCONSISTENT] + checked[STOP_LEFT] > 0


def test_pico_sampling_gets_exactly_the_renderers_pairs(clip):
    """Anchor sampling on the oracle tracks yields the exact correspondences."""
    dis = _dis_like(clip.scene.num_frames, (48, 80), n=400, seed=3)
    orc = oracle_tracks(clip.scene, dis)
    rng = np.random.default_rng(0)
    seen = 0
    for _ in range(5):
        fs = anchor_sample(orc, 2, rng)
        for frame, src, dst in zip(fs.frames, fs.src, fs.dst):
            c = exact_correspondences(clip.scene, fs.anchor, int(frame), src)
            assert c.visible.all()
            np.testing.assert_allclose(dst, c.dst, atol=1e-3)
            seen += len(src)
    assert seen > 0
    # any consistency threshold keeps them whole (zero step terms)
    assert orc.rethreshold(0.001, 0.01).length.tolist() == orc.length.tolist()


def test_oracle_refuses_resampled_tracks(clip):
    dis = _dis_like(clip.scene.num_frames - 2, (48, 80))
    with pytest.raises(ValueError, match='own frame rate'):
        oracle_tracks(clip.scene, dis)
