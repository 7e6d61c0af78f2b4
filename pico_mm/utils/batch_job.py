"""Resumable, shardable batch jobs over many items (pure python).

Used by ``tools/data/extract_flow.py`` and ``tools/data/track_points.py``.
A job is a list of :class:`JobItem` (a name, an output path and any payload);
:func:`run_jobs` processes this process's shard of it:

* shard selection: :func:`pico_mm.utils.shard_env.resolve_launch` (explicit
  ``--shard I --num-shards N``, torchrun, srun, Slurm arrays and their
  nestings; its module doc gives the precedence). Items are sorted by name
  and item ``i`` goes to shard ``i % N``.
* skip-if-done: an item whose output exists is not redone.
* atomic writes: the worker writes a temp file in the output's directory and
  the runner ``os.replace``-s it onto the output only after success, so a
  killed job never leaves a half-written output.
* errors: a :class:`DataProblem` (bad input: unreadable, too short) is
  logged as ``SKIP <item>: <reason>``, listed in a failures file and the job
  goes on; any other exception is a fault (CUDA error, out of memory, disk
  full, bad checkpoint, import error, a bug): the item's temp output is
  removed, ``FAULT <item>`` is logged with the traceback and :class:`JobFault`
  stops the job.
* exit status (:attr:`JobSummary.exit_code`): 0; 1 when more than
  ``max_failed`` of this process's items were data problems; 3 for a fault.
* a tqdm progress bar, an end summary and a log file in the output dir.

Nothing here imports torch, numpy, mmengine or mmcv.
"""
import argparse
import dataclasses
import os
import sys
import time
import traceback
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .atomic_io import (TMP_MARK, atomic_output, atomic_write_bytes,
                        is_temp_path, list_outputs, remove_stale_temps,
                        temp_path_for)
from .shard_env import Launch, LaunchError, resolve_launch

try:  # tqdm is a declared dependency; keep a plain fallback so import never fails.
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

DEFAULT_MAX_FAILED = 0.05
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3

__all__ = [
    'DataProblem', 'JobFault', 'JobItem', 'JobSummary', 'Launch',
    'LaunchError', 'add_shard_args', 'resolve_shard', 'resolve_launch',
    'select_shard', 'run_jobs', 'run_and_report', 'atomic_output', 'atomic_write_bytes',
    'temp_path_for', 'is_temp_path', 'list_outputs', 'default_log_path', 'parse_fraction',
    'remove_stale_temps', 'TMP_MARK', 'EXIT_OK', 'EXIT_DATA', 'EXIT_USAGE',
    'EXIT_FAULT', 'DEFAULT_MAX_FAILED'
]


class DataProblem(Exception):
    """Bad input of one item (unreadable, corrupt, too short).

    The per-item code raises it (or a subclass) for problems of the data;
    :func:`run_jobs` skips the item, names it and counts it, and the job goes
    on. Every other exception stops the job (:class:`JobFault`).
    """


class JobFault(RuntimeError):
    """A worker raised something that is not a data problem.

    Attributes:
        item (str): Name of the item being processed.
        reason (str): ``'<Type>: <message>'`` of the cause.
        summary (JobSummary): What was done up to the fault.
    """

    def __init__(self, item: str, reason: str, summary: 'JobSummary'):
        super().__init__(f'{item}: {reason}')
        self.item, self.reason, self.summary = item, reason, summary

    def format(self) -> str:
        """One ``error:`` line naming the item, the cause and the state."""
        return (f'error: FAULT at item {self.item}: {self.reason} -- stopped '
                '(not a data problem: fix the cause and rerun; its temp output '
                'was removed, finished items are kept and the rerun resumes)')


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
        failed (list[tuple[str, str]]): ``(item, reason)`` of data problems.
        seconds (float): Wall time of the whole run.
        shard (tuple[int, int]): ``(index, count)`` of this process.
        total (int): Number of items in the whole job (all shards).
        items (int): Number of items of this process's shard.
        max_failed (float): Fraction of ``items`` that may fail before the
            exit status says the job did not do its work.
        fault (tuple[str, str], optional): ``(item, reason)`` of the fault
            that stopped the job.
        failed_list (str, optional): File listing the failed items.
        source (str): How the shard was found (launcher).
    """
    done: List[str] = dataclasses.field(default_factory=list)
    skipped_existing: List[str] = dataclasses.field(default_factory=list)
    failed: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    shard: Tuple[int, int] = (0, 1)
    total: int = 0
    items: int = 0
    max_failed: float = DEFAULT_MAX_FAILED
    fault: Optional[Tuple[str, str]] = None
    failed_list: Optional[str] = None
    source: str = ''

    @property
    def too_many_failed(self) -> bool:
        """More than ``max_failed`` of this process's items failed."""
        return len(self.failed) > self.max_failed * max(self.items, 1)

    @property
    def exit_code(self) -> int:
        """3 after a fault; 1 when more than ``max_failed`` failed; else 0."""
        if self.fault:
            return EXIT_FAULT
        return EXIT_DATA if self.too_many_failed else EXIT_OK

    def format(self) -> str:
        """Multi-line human summary."""
        src = f' ({self.source})' if self.source else ''
        lines = [
            f'shard {self.shard[0]} of {self.shard[1]}{src}: '
            f'{len(self.done) + len(self.skipped_existing) + len(self.failed)}'
            f' of {self.items} items of this shard ({self.total} in the '
            f'job); done {len(self.done)}, '
            f'skipped (already done) {len(self.skipped_existing)}, '
            f'failed {len(self.failed)}, {self.seconds:.1f} s'
        ]
        for name, reason in self.failed:
            lines.append(f'  FAILED {name}: {reason}')
        if self.fault:
            lines.append(f'  FAULT {self.fault[0]}: {self.fault[1]}')
        if self.failed_list and (self.failed or self.fault):
            lines.append(f'failed items listed in {self.failed_list}')
        if self.too_many_failed:
            lines.append(
                f'FAILED: {len(self.failed)} of {self.items} items of this '
                f'shard failed, more than --max-failed {self.max_failed:.0%}'
                ' (exit status 1)')
        return '\n'.join(lines)


def parse_fraction(text: str) -> float:
    """``'5%'`` -> 0.05, ``'0.05'`` -> 0.05 (argparse ``type``)."""
    t = str(text).strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith('%') else float(t)
    except ValueError:
        v = -1.0
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(
            f'{text!r}: give a percentage (5%%) or a fraction in 0..1 (0.05)')
    return v


def add_shard_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--shard``, ``--num-shards`` and ``--max-failed`` to a parser."""
    parser.add_argument(
        '--shard', type=int, default=None,
        help='index of this shard (0-based); default: from the launcher '
        '(torchrun RANK/WORLD_SIZE, srun SLURM_PROCID/SLURM_STEP_NUM_TASKS, '
        'a Slurm array, or nestings of them; docs/flow.md), else 0')
    parser.add_argument(
        '--num-shards', type=int, default=None,
        help='number of shards; default: from the launcher, else 1')
    parser.add_argument(
        '--max-failed', type=parse_fraction, default=DEFAULT_MAX_FAILED,
        help='exit with status 1 when more than this share of this '
        "process's items are bad data (5%% or 0.05); faults always stop "
        'the job with status 3')


def resolve_shard(shard: Optional[int] = None,
                  num_shards: Optional[int] = None,
                  env: Optional[dict] = None) -> Tuple[int, int]:
    """``(index, count)`` of this process (see :func:`resolve_launch`).

    Raises:
        LaunchError: (a ``ValueError``) contradictory or out-of-range values.
    """
    return resolve_launch(shard, num_shards, env).shard


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


def _write_failed_list(path: Optional[str], summary: JobSummary) -> None:
    """``name<TAB>reason`` per failed item (and the fault), atomically."""
    if not path:
        return
    rows = list(summary.failed)
    if summary.fault:
        rows.append((summary.fault[0], 'FAULT ' + summary.fault[1]))
    atomic_write_bytes(path, ''.join(f'{n}\t{r}\n' for n, r in rows).encode())


def run_jobs(items: Sequence[JobItem],
             worker: Callable[[JobItem, str], Any],
             shard: Optional[int] = None,
             num_shards: Optional[int] = None,
             log_path: Optional[str] = None,
             desc: str = 'items',
             overwrite: bool = False,
             progress: bool = True,
             echo: bool = True,
             max_failed: float = DEFAULT_MAX_FAILED,
             data_errors: Tuple[type, ...] = (DataProblem, ),
             launch: Optional[Launch] = None,
             device: Optional[str] = None,
             failed_list: Optional[str] = None) -> JobSummary:
    """Process this process's shard of ``items``.

    Args:
        items: The whole job (every shard sees the same list).
        worker: ``worker(item, tmp_path)`` writes the item's output to
            ``tmp_path`` (a file in the output's directory with the same
            extension); the runner renames it onto ``item.output``. It may
            write further outputs itself (atomically) and may return a short
            string that is logged. It raises one of ``data_errors`` for bad
            input; anything else it raises stops the job.
        shard, num_shards: Explicit shard; else from the environment
            (see :func:`resolve_launch`). Ignored when ``launch`` is given.
        log_path: Log file (appended); None for no file.
        desc: Progress bar label.
        overwrite: Redo items whose output exists.
        progress: Show a tqdm bar.
        echo: Also print log lines to stderr.
        max_failed: Share of this shard's items that may be data problems
            before :attr:`JobSummary.exit_code` is 1.
        data_errors: Exception types that are data problems.
        launch: This process's place (:func:`resolve_launch`), if resolved.
        device: Device this process computes on, for the ``START`` line.
        failed_list: File listing the failed items (``name<TAB>reason``),
            rewritten at the end; default: ``log_path`` with
            ``.failed.txt`` for ``.log``; None without a log.

    Returns:
        JobSummary: What was done, skipped and failed.

    Raises:
        JobFault: A worker raised something that is not in ``data_errors``
            (after removing the item's temp output, logging it with its
            traceback and writing the failures file).
    """
    t0 = time.time()
    if launch is None:
        launch = resolve_launch(shard, num_shards)
    index, count = launch.shard
    mine = select_shard(items, index, count)
    log = _Log(log_path, echo=echo)
    if failed_list is None and log_path:
        failed_list = os.path.splitext(log_path)[0] + '.failed.txt'
    summary = JobSummary(shard=(index, count), total=len(items),
                         items=len(mine), max_failed=max_failed,
                         failed_list=failed_list, source=launch.source)
    dev = f', device {device}' if device else ''
    log(f'START {desc}: {launch.describe()}, local rank {launch.local_rank}'
        f'{dev}; {len(mine)} of {len(items)} items')
    bar = _progress(mine, len(mine), desc, progress)
    for item in bar:
        if not overwrite and os.path.exists(item.output):
            summary.skipped_existing.append(item.name)
            continue
        remove_stale_temps(item.output)
        try:
            with atomic_output(item.output) as tmp:
                info = worker(item, tmp)
        except data_errors as e:
            reason = f'{type(e).__name__}: {e}'.replace('\n', ' ')
            summary.failed.append((item.name, reason))
            log(f'SKIP {item.name}: {reason}')
            continue
        except Exception as e:  # noqa: BLE001 - a fault: stop, loudly
            reason = f'{type(e).__name__}: {e}'.replace('\n', ' ')
            summary.fault = (item.name, reason)
            summary.seconds = time.time() - t0
            if log_path:
                _Log(log_path, echo=False)(
                    f'FAULT {item.name}: ' + traceback.format_exc())
            _write_failed_list(failed_list, summary)
            if log_path:
                _Log(log_path, echo=False)('SUMMARY ' + summary.format())
            raise JobFault(item.name, reason, summary) from e
        summary.done.append(item.name)
        if log_path:  # per-item success lines go to the file only
            _Log(log_path, echo=False)(
                f'DONE {item.name}' + (f': {info}' if info else ''))
    summary.seconds = time.time() - t0
    _write_failed_list(failed_list, summary)
    if log_path:  # the caller prints the summary itself
        _Log(log_path, echo=False)('SUMMARY ' + summary.format())
    return summary


def run_and_report(items: Sequence[JobItem],
                   worker: Callable[[JobItem, str], Any],
                   **kwargs) -> Tuple[JobSummary, int]:
    """:func:`run_jobs`, then print its summary (stdout) and, after a fault,
    the one ``error: FAULT at item ...`` line (stderr).

    Returns:
        tuple: ``(JobSummary, exit status)`` (:attr:`JobSummary.exit_code`).
    """
    try:
        summary = run_jobs(items, worker, **kwargs)
    except JobFault as fault:
        print(fault.summary.format(), flush=True)
        print(fault.format(), file=sys.stderr, flush=True)
        return fault.summary, EXIT_FAULT
    print(summary.format(), flush=True)
    return summary, summary.exit_code


def default_log_path(out_dir: str, tool: str, shard: Tuple[int, int]) -> str:
    """``<out_dir>/<tool>.shard<i>of<n>.log``."""
    return os.path.join(out_dir, f'{tool}.shard{shard[0]}of{shard[1]}.log')
