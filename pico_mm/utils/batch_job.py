"""Resumable, shardable batch jobs over many items (pure python).

Used by ``tools/data/extract_flow.py`` and ``tools/data/track_points.py``.
A job is a list of :class:`JobItem` (a name, an output path and any payload);
:func:`run_jobs` processes this process's shard of it:

* shard selection: explicit ``--shard I --num-shards N``; else ``RANK`` /
  ``WORLD_SIZE`` (``torchrun``); else ``SLURM_ARRAY_TASK_ID`` /
  ``SLURM_ARRAY_TASK_COUNT`` (minus ``SLURM_ARRAY_TASK_MIN``); else 0 of 1.
  Items are sorted by name and item ``i`` goes to shard ``i % N``.
* skip-if-done: an item whose output exists is not redone.
* atomic writes: the worker writes a temp file in the output's directory and
  the runner ``os.replace``-s it onto the output only after success, so a
  killed job never leaves a half-written output.
* errors: any exception of an item is logged as ``SKIP <item>: <reason>`` and
  the job goes on.
* a tqdm progress bar, an end summary and a log file in the output dir.

Nothing here imports torch, numpy, mmengine or mmcv.
"""
import argparse
import contextlib
import dataclasses
import os
import sys
import time
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

try:  # tqdm is a declared dependency; keep a plain fallback so import never fails.
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

TMP_MARK = '.tmp'


@dataclasses.dataclass
class JobItem:
    """One unit of work.

    Attributes:
        name (str): Unique, human-readable id (used for sorting, sharding, logs).
        output (str): Final output path; the item is done when it exists.
        payload (Any): Whatever the worker needs (e.g. the input path).
    """
    name: str
    output: str
    payload: Any = None


@dataclasses.dataclass
class JobSummary:
    """What a :func:`run_jobs` call did.

    Attributes:
        done (list[str]): Items processed successfully.
        skipped_existing (list[str]): Items whose output already existed.
        failed (list[tuple[str, str]]): ``(item, reason)`` of failed items.
        seconds (float): Wall time of the whole run.
        shard (tuple[int, int]): ``(index, count)`` of this process.
        total (int): Number of items in the whole job (all shards).
    """
    done: List[str] = dataclasses.field(default_factory=list)
    skipped_existing: List[str] = dataclasses.field(default_factory=list)
    failed: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    shard: Tuple[int, int] = (0, 1)
    total: int = 0

    @property
    def exit_code(self) -> int:
        """1 when items failed and none is done or was already done, else 0.

        A batch tool logs bad items and goes on; it only fails as a whole when
        nothing at all came out.
        """
        return int(bool(self.failed) and not (self.done or self.skipped_existing))

    def format(self) -> str:
        """Multi-line human summary."""
        lines = [
            f'shard {self.shard[0]} of {self.shard[1]}: '
            f'{len(self.done) + len(self.skipped_existing) + len(self.failed)}'
            f' of {self.total} items; done {len(self.done)}, '
            f'skipped (already done) {len(self.skipped_existing)}, '
            f'failed {len(self.failed)}, {self.seconds:.1f} s'
        ]
        for name, reason in self.failed:
            lines.append(f'  FAILED {name}: {reason}')
        return '\n'.join(lines)


def add_shard_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--shard`` and ``--num-shards`` to an argparse parser."""
    parser.add_argument(
        '--shard', type=int, default=None,
        help='index of this shard (0-based); default: from RANK/WORLD_SIZE '
        '(torchrun) or SLURM_ARRAY_TASK_ID/COUNT, else 0')
    parser.add_argument(
        '--num-shards', type=int, default=None,
        help='number of shards; default: from the environment, else 1')


def resolve_shard(shard: Optional[int] = None,
                  num_shards: Optional[int] = None,
                  env: Optional[dict] = None) -> Tuple[int, int]:
    """Decide which shard this process handles.

    Args:
        shard: Explicit shard index, or None.
        num_shards: Explicit shard count, or None.
        env: Environment mapping (default ``os.environ``).

    Returns:
        tuple[int, int]: ``(index, count)`` with ``0 <= index < count``.

    Raises:
        ValueError: Inconsistent or out-of-range values.
    """
    env = os.environ if env is None else env
    if shard is not None or num_shards is not None:
        if shard is None or num_shards is None:
            raise ValueError('give both --shard and --num-shards')
        index, count = int(shard), int(num_shards)
    elif 'WORLD_SIZE' in env and 'RANK' in env:
        index, count = int(env['RANK']), int(env['WORLD_SIZE'])
    elif 'SLURM_ARRAY_TASK_ID' in env and 'SLURM_ARRAY_TASK_COUNT' in env:
        index = int(env['SLURM_ARRAY_TASK_ID']) - int(
            env.get('SLURM_ARRAY_TASK_MIN', 0))
        count = int(env['SLURM_ARRAY_TASK_COUNT'])
    else:
        index, count = 0, 1
    if count < 1 or not 0 <= index < count:
        raise ValueError(f'bad shard {index} of {count}: need 0 <= shard < '
                         'num_shards (for Slurm arrays use --array=0-(N-1) or '
                         'set SLURM_ARRAY_TASK_MIN)')
    return index, count


def select_shard(items: Sequence[JobItem], index: int,
                 count: int) -> List[JobItem]:
    """Items of shard ``index`` of ``count`` (sorted by name, round robin).

    Raises:
        ValueError: Two items share a name or an output path.
    """
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f'duplicate item names: {dup[:5]}')
    outs = [os.path.abspath(it.output) for it in items]
    if len(set(outs)) != len(outs):
        seen, dup = {}, []
        for it, o in zip(items, outs):
            if o in seen:
                dup.append(f'{seen[o]} and {it.name} -> {it.output}')
            seen[o] = it.name
        raise ValueError('two inputs map to the same output: ' + '; '.join(
            dup[:5]))
    ordered = sorted(items, key=lambda it: it.name)
    return ordered[index::count]


def temp_path_for(path: str) -> str:
    """Temp name next to ``path``, keeping its extension (``np.savez`` safe).

    ``dir/a.zip`` -> ``dir/.a.zip.tmp<pid>.zip``.
    """
    d, base = os.path.split(path)
    ext = os.path.splitext(base)[1]
    return os.path.join(d, f'.{base}{TMP_MARK}{os.getpid()}{ext}')


def is_temp_path(path: str) -> bool:
    """True for names made by :func:`temp_path_for`."""
    base = os.path.basename(path)
    return base.startswith('.') and TMP_MARK in base


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temp path; on success ``os.replace`` it onto ``path``.

    On an exception the temp file is removed and the exception re-raised, so
    ``path`` is either absent/unchanged or complete.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise RuntimeError(f'worker wrote nothing for {path}')
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)


def _remove_stale_temps(path: str) -> None:
    """Delete temp files a killed earlier run left next to ``path``."""
    d, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(d):
        return
    prefix = f'.{base}{TMP_MARK}'
    for name in os.listdir(d):
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(d, name))


class _Log:
    """Append-only text log (one line per event), also echoed to stderr."""

    def __init__(self, path: Optional[str], echo: bool = True):
        self.path = path
        self.echo = echo
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def __call__(self, msg: str) -> None:
        stamp = time.strftime('%Y-%m-%d %H:%M:%S')
        if self.path:
            with open(self.path, 'a', encoding='utf-8') as f:
                for line in msg.splitlines() or ['']:
                    f.write(f'{stamp} {line}\n')
        if self.echo:
            print(msg, file=sys.stderr, flush=True)


def _progress(iterable, total: int, desc: str, enabled: bool):
    """tqdm bar; without tqdm, a plain ``desc: i/total`` line every ~10 s."""
    if _tqdm is not None:
        return _tqdm(iterable, total=total, desc=desc, disable=not enabled,
                     dynamic_ncols=True)
    if not enabled:
        return iterable

    def plain():
        last = time.time()
        for i, x in enumerate(iterable):
            if time.time() - last > 10:
                print(f'{desc}: {i}/{total}', file=sys.stderr, flush=True)
                last = time.time()
            yield x
    return plain()


def run_jobs(items: Sequence[JobItem],
             worker: Callable[[JobItem, str], Any],
             shard: Optional[int] = None,
             num_shards: Optional[int] = None,
             log_path: Optional[str] = None,
             desc: str = 'items',
             overwrite: bool = False,
             progress: bool = True,
             echo: bool = True) -> JobSummary:
    """Process this process's shard of ``items``.

    Args:
        items: The whole job (every shard sees the same list).
        worker: ``worker(item, tmp_path)`` writes the item's output to
            ``tmp_path`` (a file in the output's directory with the same
            extension); the runner renames it onto ``item.output``. It may
            write further outputs itself (atomically) and may return a short
            string that is logged.
        shard, num_shards: Explicit shard; else from the environment
            (see :func:`resolve_shard`).
        log_path: Log file (appended); None for no file.
        desc: Progress bar label.
        overwrite: Redo items whose output exists.
        progress: Show a tqdm bar.
        echo: Also print log lines to stderr.

    Returns:
        JobSummary: What was done, skipped and failed.
    """
    t0 = time.time()
    index, count = resolve_shard(shard, num_shards)
    mine = select_shard(items, index, count)
    log = _Log(log_path, echo=echo)
    summary = JobSummary(shard=(index, count), total=len(items))
    log(f'START {desc}: shard {index} of {count}, {len(mine)} of '
        f'{len(items)} items')
    bar = _progress(mine, len(mine), desc, progress)
    for item in bar:
        if not overwrite and os.path.exists(item.output):
            summary.skipped_existing.append(item.name)
            continue
        _remove_stale_temps(item.output)
        try:
            with atomic_output(item.output) as tmp:
                info = worker(item, tmp)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - log-and-go-on by design
            reason = f'{type(e).__name__}: {e}'.replace('\n', ' ')
            summary.failed.append((item.name, reason))
            log(f'SKIP {item.name}: {reason}')
            continue
        summary.done.append(item.name)
        if log_path:  # per-item success lines go to the file only
            _Log(log_path, echo=False)(
                f'DONE {item.name}' + (f': {info}' if info else ''))
    summary.seconds = time.time() - t0
    if log_path:  # the caller prints the summary itself
        _Log(log_path, echo=False)('SUMMARY ' + summary.format())
    return summary


def default_log_path(out_dir: str, tool: str, shard: Tuple[int, int]) -> str:
    """``<out_dir>/<tool>.shard<i>of<n>.log``."""
    return os.path.join(out_dir, f'{tool}.shard{shard[0]}of{shard[1]}.log')
