"""Overlapped extraction pipeline: same bytes as the serial path, errors of
any stage reach the caller unchanged, YT8M snippets decode once and resume
per snippet."""
import errno
import glob
import os
import threading

import cv2
import numpy as np
import pytest

from pico_mm.flow import read_meta
from pico_mm.flow.backends import DISBackend
from pico_mm.flow.extract import extract_snippets, extract_video
from pico_mm.flow.pipeline import PipelineStats, Segment, run_pipeline
from pico_mm.flow.standin import StandInBackend
from pico_mm.flow.store import FlowStoreWriter
from pico_mm.flow.video import VideoReadError


def texture(seed, h, w, tint=(1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, (h, w, 3)).astype(np.float32), (0, 0), 3)
    t = (t - t.min()) / (t.max() - t.min()) * 255 * np.array(tint)
    return np.clip(t, 0, 255).astype(np.uint8)


def write_video(path, shots=((0, 30),), size=(60, 80), fps=10):
    """MJPG video of panning textures; one (seed, frames) entry per shot."""
    h, w = size
    tints = [(0.2, 0.5, 1.0), (1.0, 0.5, 0.1), (0.4, 1.0, 0.3)]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (w, h))
    for k, (seed, n) in enumerate(shots):
        tex = texture(seed, h + n + 1, w + 2 * n + 1, tints[k % 3])
        for i in range(n):
            vw.write(np.ascontiguousarray(tex[i:i + h, 2 * i:2 * i + w]))
    vw.release()
    return str(path)


def wait_for(cond, seconds=20.0):
    """Block until ``cond()`` (a stage of the pipeline has got there)."""
    ev = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        ev.wait(0.01)


def flow_threads():
    return [t for t in threading.enumerate() if t.name.startswith('flow-')]


class CountingStandIn(StandInBackend):
    """Stand-in that counts the pairs it estimates."""
    pairs = 0

    def __call__(self, f1, f2):
        self.pairs += len(f1)
        return super().__call__(f1, f2)


class Boom(RuntimeError):
    """A fault injected into one stage."""


class FailingBackend(StandInBackend):
    """Stand-in that raises ``self.error`` on call number ``fail_at``."""

    def __init__(self, fail_at, before=None):
        super().__init__(0.0)
        self.calls, self.fail_at, self.before = 0, fail_at, before
        self.error = Boom(f'injected at call {fail_at}')

    def __call__(self, f1, f2):
        self.calls += 1
        if self.calls == self.fail_at:
            if self.before is not None:
                self.before()
            raise self.error
        return super().__call__(f1, f2)


@pytest.mark.parametrize('backend', [StandInBackend(0.002), DISBackend('ultrafast')],
                         ids=['standin', 'dis'])
@pytest.mark.parametrize('frame_quality', [None, 90])
def test_pipeline_store_equals_serial_path(tmp_path, backend, frame_quality):
    src = write_video(tmp_path / 'v.avi', shots=((0, 23),))
    kw = dict(fps=30, short_side=48, batch_size=4, frame_quality=frame_quality)
    serial = extract_video(src, str(tmp_path / 's.zip'), backend, 'video',
                           overlap=False, **kw)
    stats = PipelineStats()
    piped = extract_video(src, str(tmp_path / 'p.zip'), backend, 'video',
                          stats=stats, **kw)
    assert piped == serial and serial['num_pairs'] == 67
    assert (tmp_path / 'p.zip').read_bytes() == (tmp_path / 's.zip').read_bytes()
    assert stats.pairs == 67 and stats.batches == 17
    assert 0 < stats.estimator_s <= stats.wall_s and 0 < stats.busy <= 1
    assert not flow_threads()


def test_backend_error_reaches_the_caller_unchanged(tmp_path):
    src = write_video(tmp_path / 'v.avi')
    be = FailingBackend(fail_at=3)
    with pytest.raises(Boom) as e:
        extract_video(src, str(tmp_path / 'o.zip'), be, 'video', fps=10,
                      short_side=0, batch_size=2, frame_quality=90)
    assert e.value is be.error and be.calls == 3
    assert not flow_threads()


def test_decode_and_writer_errors_stop_the_job_and_clean_up(tmp_path):
    aborted = []

    def frames(n_ok, path):
        for i in range(n_ok):
            yield np.full((16, 16, 3), i, np.uint8)
        wait_for(lambda: os.path.exists(path))  # the writer has opened it
        raise VideoReadError('v.mp4: frame decode failed (corrupt stream)')

    def seg(path, frames_it):
        def abort(w):
            aborted.append(path)
            w.close()
            os.remove(path)
        return Segment(frames_it, lambda: FlowStoreWriter(path),
                       lambda w, n: w.finish(), abort)

    p = str(tmp_path / 'a.zip')
    with pytest.raises(VideoReadError, match='corrupt stream'):
        run_pipeline([seg(p, frames(7, p))], StandInBackend(), batch_size=2)
    assert aborted == [p] and not os.path.exists(p)

    class FullDisk(FlowStoreWriter):
        def add_pair(self, fwd, bwd):
            if self.num_pairs == 3:
                raise OSError(errno.ENOSPC, 'No space left on device')
            super().add_pair(fwd, bwd)
    q = str(tmp_path / 'b.zip')
    s = seg(q, (np.full((16, 16, 3), i, np.uint8) for i in range(50)))
    s.open_writer = lambda: FullDisk(q)
    be = StandInBackend()
    with pytest.raises(OSError) as e:
        run_pipeline([s], be, batch_size=2, prefetch=1)
    assert e.value.errno == errno.ENOSPC and aborted[-1] == q
    assert not os.path.exists(q) and not flow_threads()


def count_grabs(monkeypatch):
    """Count every frame decoded through cv2.VideoCapture in pico_mm.flow."""
    import pico_mm.flow.video as video
    grabs = [0]
    real = video.cv2.VideoCapture

    class Counting:
        def __init__(self, *a):
            self._cap = real(*a)

        def grab(self):
            ok = self._cap.grab()
            grabs[0] += ok
            return ok

        def __getattr__(self, name):
            return getattr(self._cap, name)
    monkeypatch.setattr(video.cv2, 'VideoCapture', Counting)
    return grabs


def test_snippets_decode_the_video_once(tmp_path, monkeypatch):
    src = write_video(tmp_path / 'yt.avi', shots=((0, 25), (1, 20)))
    grabs = count_grabs(monkeypatch)
    man = extract_snippets(src, str(tmp_path / 'out'), DISBackend('ultrafast'),
                           fps=10, short_side=0, snippet_seconds=1.0,
                           min_seconds=0.5, frame_quality=90)
    assert grabs[0] == 45  # shots and flow from one decode
    assert man['shots'] == [[0, 24], [25, 44]] and man['detector'] == 'histogram'
    assert [(s['start'], s['stop']) for s in man['snippets']] == \
        [(0, 10), (10, 20), (20, 25), (25, 35), (35, 45)]


def test_killed_video_redoes_only_its_missing_snippets(tmp_path, monkeypatch):
    src = write_video(tmp_path / 'yt.avi', shots=((0, 25), (1, 20)))
    kw = dict(fps=10, short_side=0, snippet_seconds=1.0, min_seconds=0.5,
              batch_size=3, frame_quality=90)
    clean = tmp_path / 'clean'
    full = extract_snippets(src, str(clean), StandInBackend(), **kw)
    out = tmp_path / 'out'
    third = out / 'snippet_000020.zip'

    def wait_for_two_snippets():  # the writer publishes them behind the estimator
        wait_for((out / 'snippet_000010.zip').exists)
    # calls: snippets [0,10) and [10,20) take 3 + 3, [20,25) 2; fail in [20,25)
    be = FailingBackend(fail_at=8, before=wait_for_two_snippets)
    with pytest.raises(Boom):
        extract_snippets(src, str(out), be, **kw)
    assert sorted(os.listdir(out)) == ['snippet_000000.zip', 'snippet_000010.zip']
    assert not third.exists() and not glob.glob(str(out / '.*tmp*'))
    grabs = count_grabs(monkeypatch)
    again = CountingStandIn()
    man = extract_snippets(src, str(out), again, **kw)
    assert grabs[0] == 45
    assert again.pairs == (25 - 20 - 1) + (35 - 25 - 1) + (45 - 35 - 1)  # missing
    assert man == full
    for s in man['snippets']:
        assert (out / s['file']).read_bytes() == (clean / s['file']).read_bytes()
    # a snippet written with other settings is redone, not trusted
    other = CountingStandIn()
    extract_snippets(src, str(out), other, **dict(kw, frame_quality=80))
    assert other.pairs == sum(s['num_frames'] - 1 for s in man['snippets'])
    assert read_meta(str(out / 'snippet_000000.zip'))['frames']['quality'] == 80
