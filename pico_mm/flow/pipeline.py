"""Overlapped flow extraction: decode ahead of the estimator, write behind it.

Three stages joined by bounded queues (pure numpy/cv2/threading)::

    producer thread     decode, resample, resize (the caller's frame iterator),
                        JPEG-code each kept frame once (bytes for the store,
                        the decoded frame for the flow), stack the pairs of a
                        batch into the backend's host buffers (pinned memory
                        for CUDA RAFT)
    calling thread      the flow estimator, nothing else
    writer thread       quantise and JPEG-code the flow, write the zip members,
                        finish and publish each store

The heavy CPU calls (video decode, ``cv2.resize``, ``cv2.imencode`` /
``imdecode``, large numpy ops, a CUDA synchronisation) release the GIL, so the
three stages run in parallel on separate cores.

A store written here is byte-identical to the serial path
(:class:`pico_mm.flow.extract.StreamingExtractor`): frames and pairs reach the
writer in the same order (the frames new to a batch, then its pairs).

Errors: the first exception raised in any stage (a decode error, a backend
fault, a full disk) stops all three and is re-raised, unchanged, in the
calling thread; the store being written is closed and handed to the
segment's ``abort`` (which deletes its temp file). Nothing is swallowed.
"""
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, List, Optional

import numpy as np

from .frame_store import encode_frame
from .video import VideoReadError

_POLL_S = 0.05


@dataclass
class Segment:
    """One output store fed by a stream of frames.

    Attributes:
        frames: Iterable of uint8 H×W×3 BGR frames; iterated in the producer
            thread (so a decoding generator runs ahead of the estimator).
        open_writer: ``() -> FlowStoreWriter``; called in the writer thread.
        finish: ``(writer, num_frames) -> result``; called in the writer
            thread after the last pair (writes meta, renames the temp file).
        abort: ``(writer or None) -> None``; called on any error to close the
            writer and remove its temp output.
    """
    frames: Iterable[np.ndarray]
    open_writer: Callable[[], Any]
    finish: Callable[[Any, int], Any]
    abort: Callable[[Any], None] = lambda w: None


@dataclass
class PipelineStats:
    """Where the time of :func:`run_pipeline` went.

    Attributes:
        wall_s: Wall time of the call.
        estimator_s: Time inside ``backend(frames1, frames2)``.
        batches: Backend calls. pairs: Frame pairs estimated.
    """
    wall_s: float = 0.0
    estimator_s: float = 0.0
    batches: int = 0
    pairs: int = 0

    @property
    def busy(self) -> float:
        """Estimator-busy fraction (estimator time ÷ wall time)."""
        return self.estimator_s / self.wall_s if self.wall_s > 0 else 0.0

    def add(self, other: 'PipelineStats') -> None:
        """Accumulate another call's stats."""
        self.wall_s += other.wall_s
        self.estimator_s += other.estimator_s
        self.batches += other.batches
        self.pairs += other.pairs


@dataclass
class _Batch:
    frame_bytes: List[bytes] = field(default_factory=list)
    frames1: Optional[np.ndarray] = None
    frames2: Optional[np.ndarray] = None
    fwd: Optional[np.ndarray] = None
    bwd: Optional[np.ndarray] = None


_START, _END, _DONE = 'start', 'end', 'done'


class _Stop(Exception):
    """Another stage failed; unwind quietly (the first error is re-raised)."""


class _Shared:
    def __init__(self):
        self.stop = threading.Event()
        self.error: Optional[BaseException] = None
        self.lock = threading.Lock()

    def fail(self, e: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = e
        self.stop.set()

    def put(self, q: queue.Queue, item) -> None:
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                pass

    def get(self, q: queue.Queue):
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                pass


def host_stack(backend, frames: List[np.ndarray]) -> np.ndarray:
    """Stack frames into the backend's host buffer (pinned for CUDA RAFT).

    Args:
        backend: Flow backend; its optional ``host_array(shape)`` gives the
            buffer (plain ``np.empty`` otherwise).
        frames: K uint8 H×W×3 frames.

    Returns:
        np.ndarray: K×H×W×3 uint8.
    """
    shape = (len(frames),) + frames[0].shape
    alloc = getattr(backend, 'host_array', None)
    out = alloc(shape) if alloc is not None else np.empty(shape, np.uint8)
    return np.stack(frames, out=out)


def _produce(segments: Iterable[Segment], backend, batch_size: int,
             frame_quality: Optional[int], q_out: queue.Queue,
             sh: _Shared) -> None:
    for seg in segments:
        sh.put(q_out, (_START, seg))
        buf: List[np.ndarray] = []
        batch = _Batch()
        n = 0
        it: Iterator = iter(seg.frames)
        try:
            for frame in it:
                if buf and frame.shape != buf[0].shape:
                    raise VideoReadError(f'frame size changed mid-video '
                                         f'({buf[0].shape} -> {frame.shape})')
                if frame_quality is not None:
                    data, frame = encode_frame(frame, frame_quality)
                    batch.frame_bytes.append(data)
                buf.append(frame)
                n += 1
                if len(buf) > batch_size:
                    batch.frames1 = host_stack(backend, buf[:-1])
                    batch.frames2 = host_stack(backend, buf[1:])
                    sh.put(q_out, batch)
                    batch, buf = _Batch(), buf[-1:]
        finally:
            close = getattr(it, 'close', None)
            if close is not None:
                close()  # a stopped decoder releases its file now
        if len(buf) >= 2:
            batch.frames1 = host_stack(backend, buf[:-1])
            batch.frames2 = host_stack(backend, buf[1:])
        sh.put(q_out, batch)
        sh.put(q_out, (_END, n))
    sh.put(q_out, (_DONE,))


def _write(q_in: queue.Queue, results: list, sh: _Shared) -> None:
    writer, seg = None, None
    try:
        while True:
            item = sh.get(q_in)
            if isinstance(item, _Batch):
                for data in item.frame_bytes:
                    writer.add_frame_bytes(data)
                if item.fwd is not None:
                    for a, b in zip(item.fwd, item.bwd):
                        writer.add_pair(a, b)
            elif item[0] == _START:
                seg = item[1]
                writer = seg.open_writer()
            elif item[0] == _END:
                results.append(seg.finish(writer, item[1]))
                writer, seg = None, None
            else:
                return
    except BaseException:
        if seg is not None:
            seg.abort(writer)
        raise


def _run_thread(target, sh: _Shared, *args) -> threading.Thread:
    def body():
        try:
            target(*args, sh)
        except _Stop:
            pass
        except BaseException as e:  # noqa: BLE001 - re-raised by the caller
            sh.fail(e)
    t = threading.Thread(target=body, daemon=True,
                         name=f'flow-{target.__name__.strip("_")}')
    t.start()
    return t


def run_pipeline(segments: Iterable[Segment], backend, batch_size: int = 8,
                 frame_quality: Optional[int] = None, prefetch: int = 4,
                 stats: Optional[PipelineStats] = None) -> List[Any]:
    """Compute and store the flow of each segment with the stages overlapped.

    Args:
        segments: The stores to write, in order; iterated lazily in the
            producer thread (a generator may decode while yielding them).
        backend: ``backend(frames1, frames2) -> (fwd, bwd)`` (N×H×W×3 uint8
            BGR in, float32 N×H×W×2 out); runs in the calling thread.
        batch_size: Pairs per backend call.
        frame_quality: JPEG quality of the frames kept in the stores (the
            flow then sees the decoded JPEG); None keeps none.
        prefetch: Batches queued ahead of and behind the estimator.
        stats: Filled with the time split if given.

    Returns:
        list: ``segment.finish`` results, in order.

    Raises:
        Exception: The first error of any stage, unchanged.
    """
    batch_size = max(1, int(batch_size))
    sh = _Shared()
    q_in: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    q_out: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    results: List[Any] = []
    st = PipelineStats()
    t0 = time.perf_counter()
    threads = [_run_thread(_produce, sh, segments, backend, batch_size,
                           frame_quality, q_in),
               _run_thread(_write, sh, q_out, results)]
    try:
        while True:
            item = sh.get(q_in)
            if isinstance(item, _Batch) and item.frames1 is not None:
                t1 = time.perf_counter()
                item.fwd, item.bwd = backend(item.frames1, item.frames2)
                st.estimator_s += time.perf_counter() - t1
                st.batches += 1
                st.pairs += len(item.frames1)
                item.frames1 = item.frames2 = None
            sh.put(q_out, item)
            if not isinstance(item, _Batch) and item[0] == _DONE:
                break
    except _Stop:
        pass
    except BaseException as e:  # noqa: BLE001 - re-raised below, unchanged
        sh.fail(e)
    finally:
        for t in threads:
            t.join() if sh.error is None else t.join(timeout=60)
    if sh.error is not None:
        sh.stop.set()
        raise sh.error
    st.wall_s = time.perf_counter() - t0
    if stats is not None:
        stats.add(st)
    return results
