"""Parts, skipping and reporting of ``tools/gpu_check.py``.

A part is one GPU path (mmcv's CUDA ops, RAFT in fp32, ...): a function
``fn(ctx) -> dict`` of figures, the Python modules it needs and the parts it
builds on. :func:`run_parts` runs each in its own ``try``:

* a needed module that does not import (an environment that brings its own
  torch and only a few wheels, mmcv without compiled ops, ...) or a part it
  builds on that did not succeed gives ``skipped`` with one line saying what
  is missing;
* an exception gives ``failed`` with its one-line error;
* otherwise ``ok`` with the figures.

Pure Python; imports nothing heavy (the parts import what they need).
"""
import importlib
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

#: what to do about a missing module (first matching prefix wins)
INSTALL_HINTS: Tuple[Tuple[str, str], ...] = (
    ('mmcv.ops', "mmcv built with CUDA ops: bash scripts/setup_env.sh on a "
     'GPU node (docs/gpu.md)'),
    ('mmdet', 'pip install "mmdet>=3.0,<3.4" (mmdet needs mmcv.ops)'),
    ('mmseg', 'pip install "mmsegmentation>=1.0,<1.3"'),
    ('mmselfsup', 'pip install mmselfsup==1.0.0 mmcls==1.0.0rc6'),
    ('mmcls', 'pip install mmcls==1.0.0rc6'),
    ('mmengine', 'pip install "mmengine>=0.10,<1.0"'),
    ('mmcv', 'pip install mmcv-lite==2.0.1 (or mmcv with ops)'),
    ('', 'bundle it with scripts/gpu_bundle.sh (docs/gpu.md)'),
)


class SkipPart(Exception):
    """Raised by a part that cannot run here; the message says why."""


@dataclass
class Part:
    """One checked GPU path.

    Args:
        name: Row name in the table and the JSON.
        fn: ``fn(ctx) -> dict`` of figures; raises on failure.
        needs: Modules that must import (else ``skipped``).
        after: Parts whose success this one builds on (else ``skipped``).
        what: One line saying what the part does (``--list``).
    """
    name: str
    fn: Callable[[dict], dict]
    needs: Sequence[str] = ()
    after: Sequence[str] = ()
    what: str = ''


@dataclass
class Result:
    """Outcome of one part (a row of the table, an entry of the JSON)."""
    name: str
    status: str  # ok | failed | skipped
    seconds: float = 0.0
    figures: Dict = field(default_factory=dict)
    message: str = ''


def missing_module(names: Sequence[str]) -> Optional[str]:
    """First of ``names`` that does not import, as ``'NAME (error)'``."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as err:  # ImportError, or a broken install
            return f'{name} ({one_line(err)})'
    return None


def install_hint(module: str) -> str:
    """What to install for a missing module."""
    for prefix, hint in INSTALL_HINTS:
        if module.startswith(prefix):
            return hint
    return ''  # unreachable: '' matches everything


def one_line(err: BaseException) -> str:
    """``'Type: first line of the message'``."""
    text = str(err).strip().splitlines()
    return f'{type(err).__name__}: {text[0] if text else ""}'.rstrip(': ')


def run_parts(parts: Sequence[Part], ctx: dict,
              report: Callable[[Result], None] = print) -> List[Result]:
    """Run ``parts`` in order, each in its own try; ``report`` each result.

    Returns:
        list[Result]: One per part.
    """
    done: Dict[str, Result] = {}
    for part in parts:
        res = Result(part.name, 'skipped')
        bad = [a for a in part.after if a not in done or
               done[a].status != 'ok']
        missing = None if bad else missing_module(part.needs)
        if bad:
            res.message = f"needs part {bad[0]} ({done[bad[0]].status if bad[0] in done else 'not run'})"
        elif missing:
            res.message = (f'needs {missing}; install: '
                           f'{install_hint(missing.split(" ")[0])}')
        else:
            t0 = time.perf_counter()
            try:
                res.figures = part.fn(ctx) or {}
                res.status = 'ok'
            except SkipPart as err:
                res.message = str(err)
            except Exception as err:
                res.status, res.message = 'failed', one_line(err)
                log = ctx.get('log')
                if log:
                    with open(log, 'a', encoding='utf-8') as f:
                        f.write(f'--- {part.name}\n{traceback.format_exc()}')
            res.seconds = time.perf_counter() - t0
        done[part.name] = res
        report(res)
    return list(done.values())


def format_row(res: Result, width: int = 16) -> str:
    """``name  status  seconds  figures-or-message`` (one line)."""
    if res.status == 'ok':
        tail = ', '.join(f'{k} {_fmt(v)}' for k, v in res.figures.items())
    else:
        tail = res.message
    return (f'{res.name:<{width}} {res.status:<7} {res.seconds:7.1f}s  '
            f'{tail}')


def _fmt(v) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return str(v)


def exit_status(results: Sequence[Result]) -> int:
    """1 when a part that ran failed, else 0 (skipped parts do not fail)."""
    return int(any(r.status == 'failed' for r in results))
