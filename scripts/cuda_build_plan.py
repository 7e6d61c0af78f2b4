#!/usr/bin/env python
"""Decide how scripts/setup_env.sh builds mmcv's ops: CPU only or CUDA.

Run with the venv's python (it imports torch and, when present, mmcv)::

    python scripts/cuda_build_plan.py plan [--record FILE]
    python scripts/cuda_build_plan.py verify

``plan`` prints shell assignments for ``eval`` (one per line)::

    MMCV_KEY=mmcv2.0.1-torch2.14.1-py311-cpu      # wheel cache folder name
    MMCV_CUDA=0                                   # 1: build with CUDA ops
    MMCV_ARCH=                                    # TORCH_CUDA_ARCH_LIST to use
    MMCV_ACTION=keep                              # keep | install
    MMCV_WHY='installed mmcv 2.0.1 has CPU ops, as wanted'

The decision (:func:`decide`):

* ``FORCE_CUDA=0``: CPU-only ops, on purpose.
* torch is a CPU build (``torch.version.cuda`` is None): CPU ops; with
  ``FORCE_CUDA=1`` or a GPU that nvidia-smi lists, an error naming the fix.
* a GPU is visible (torch sees one, or nvidia-smi lists one), or
  ``FORCE_CUDA=1``, or a CUDA toolkit (``nvcc`` on PATH or in
  ``$CUDA_HOME/bin``) together with ``TORCH_CUDA_ARCH_LIST``: CUDA ops for
  ``TORCH_CUDA_ARCH_LIST``, else for the visible GPUs' compute capabilities.
  ``FORCE_CUDA=1`` without an architecture (login node without
  ``TORCH_CUDA_ARCH_LIST``), no nvcc, an nvcc whose major version differs
  from torch's CUDA, or a GPU torch cannot use are errors (exit 2, one line
  naming the fix).
* otherwise (no GPU; a toolkit alone does not say which GPU to build for):
  CPU ops, and the reason printed names nvcc when one was found. The cache
  key is then exactly ``mmcv2.0.1-torch<version>-py<XY>-cpu`` (the form
  earlier set-ups wrote).

Whether to (re)install is decided from the INSTALLED mmcv's real state, not
from an old stamp: ``mmcv.ops.get_compiling_cuda_version()`` is
``'not available'`` for CPU ops. mmcv cannot say which GPU architectures its
kernels were built for, so a CUDA install records its cache key in
``--record`` (``.venv/.pico_mm_mmcv_key``); a CUDA build whose record differs
from the wanted key (other archs, other torch CUDA) is rebuilt.

``verify`` runs RoIAlign and nms on the GPU when torch sees one, and fails
with one line naming the fix (exit 1); without a GPU it prints one line and
exits 0.

Tests fake the facts: ``--torch-json``/``--mmcv-json`` (or the variables
``PICO_MM_PLAN_TORCH_JSON``/``PICO_MM_PLAN_MMCV_JSON``) replace what torch and
mmcv answer, and fake ``nvidia-smi`` / ``nvcc`` programs on PATH replace the
real ones.
"""
import argparse
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
from typing import Dict, List, Optional

MMCV_VERSION = '2.0.1'
CPU_ONLY = 'not available'  # mmcv.ops.get_compiling_cuda_version() w/o CUDA
TORCH_INDEX_HINT = ('TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 '
                    'for a CUDA 12.6 torch')


class PlanError(Exception):
    """The set-up cannot build what the machine needs; the message names the
    fix."""


def torch_facts() -> Dict:
    """What the installed torch says: version, CUDA build, visible GPUs.

    Returns:
        dict: ``version`` (e.g. ``'2.14.1+cu126'``), ``cuda`` (``'13.0'`` or
        None for a CPU build), ``caps`` (``['9.0', ...]``, one per visible
        GPU; empty when ``torch.cuda.is_available()`` is False).
    """
    import torch
    caps = []
    if torch.cuda.is_available():
        caps = ['%d.%d' % torch.cuda.get_device_capability(i)
                for i in range(torch.cuda.device_count())]
    return dict(version=torch.__version__, cuda=torch.version.cuda, caps=caps)


def mmcv_facts() -> Optional[Dict]:
    """The installed mmcv: version, whether its compiled ops import, and the
    CUDA version they were compiled with (``'not available'`` = CPU only).

    Returns:
        dict or None: None when mmcv is not installed.
    """
    try:
        import mmcv
    except ImportError:
        return None
    facts = dict(version=mmcv.__version__, ops=False, cuda=None)
    try:
        from mmcv.ops import get_compiling_cuda_version
        facts.update(ops=True, cuda=get_compiling_cuda_version())
    except Exception:  # CPU-less wheel, mmcv-lite, or built for another torch
        pass
    return facts


def nvidia_smi_caps() -> List[str]:
    """Compute capabilities nvidia-smi lists (``['9.0']``); empty without
    nvidia-smi or GPUs."""
    exe = shutil.which('nvidia-smi')
    if not exe:
        return []
    try:
        out = subprocess.run([exe, '--query-gpu=compute_cap',
                              '--format=csv,noheader'], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [ln.strip() for ln in out.stdout.splitlines()
            if re.fullmatch(r'\d+\.\d+', ln.strip())]


def nvcc_version() -> Optional[str]:
    """``'13.0'`` from ``nvcc --version`` (PATH, then ``$CUDA_HOME/bin``);
    None when no nvcc is found."""
    exe = shutil.which('nvcc')
    home = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    if not exe and home and osp.isfile(osp.join(home, 'bin', 'nvcc')):
        exe = osp.join(home, 'bin', 'nvcc')
    if not exe:
        return None
    try:
        out = subprocess.run([exe, '--version'], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'release (\d+\.\d+)', out)
    return m.group(1) if m else 'unknown'


def wheel_key(torch_version: str, py: str, cuda: Optional[str],
              arch: str) -> str:
    """Cache folder name: ``mmcv2.0.1-torch2.14.1-py311-cpu`` for CPU ops,
    ``mmcv2.0.1-torch2.14.1-py311-cu13.0-arch8.0_9.0`` for CUDA ops."""
    base = f"mmcv{MMCV_VERSION}-torch{torch_version.split('+')[0]}-py{py}"
    if cuda is None:
        return base + '-cpu'
    archs = '_'.join(sorted(set(re.split(r'[;\s,]+', arch.strip())) - {''}))
    return f'{base}-cu{cuda}-arch{re.sub(r"[^0-9A-Za-z.+_]", "_", archs)}'


def decide(torch: Dict, smi_caps: List[str], nvcc: Optional[str],
           env: Dict[str, str], py: str) -> Dict:
    """What to build: CPU or CUDA ops, for which architectures.

    Args:
        torch: :func:`torch_facts`.
        smi_caps: :func:`nvidia_smi_caps`.
        nvcc: :func:`nvcc_version`.
        env: ``FORCE_CUDA``, ``TORCH_CUDA_ARCH_LIST`` (os.environ).
        py: ``'311'``.

    Returns:
        dict: ``cuda`` (bool), ``arch`` (str), ``key`` (str), ``why`` (str).

    Raises:
        PlanError: The wanted CUDA build is impossible; the message names the
            fix.
    """
    force = env.get('FORCE_CUDA', '')
    arch_env = env.get('TORCH_CUDA_ARCH_LIST', '').strip()
    caps = list(torch['caps']) or list(smi_caps)
    cpu = dict(cuda=False, arch='', key=wheel_key(torch['version'], py, None,
                                                   ''))
    if force == '0':
        return dict(cpu, why='FORCE_CUDA=0: CPU-only ops on purpose')
    if torch['cuda'] is None:
        if force == '1' or smi_caps:
            raise PlanError(
                f"torch {torch['version']} is a CPU build, so mmcv's CUDA ops "
                f"cannot be built{' for the GPU nvidia-smi lists' if smi_caps else ''}"
                f': install a CUDA torch ({TORCH_INDEX_HINT}), or set '
                'FORCE_CUDA=0 for CPU-only ops')
        return dict(cpu, why=f"torch {torch['version']} is a CPU build")
    if smi_caps and not torch['caps']:
        raise PlanError(
            f"nvidia-smi lists a GPU but torch {torch['version']} (CUDA "
            f"{torch['cuda']}) cannot use it (driver older than CUDA "
            f"{torch['cuda']}? see nvidia-smi's 'CUDA Version'): install the "
            f'torch that matches the driver ({TORCH_INDEX_HINT}), or set '
            'FORCE_CUDA=0 for CPU-only ops')
    if not (caps or force == '1' or (nvcc and arch_env)):
        return dict(cpu, why='no GPU visible, FORCE_CUDA unset' + (
            f' (nvcc {nvcc} found, but no TORCH_CUDA_ARCH_LIST: for CUDA ops '
            'here run FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0 or your GPUs\' '
            'archs)' if nvcc else ''))
    why = ('GPU visible' if caps else 'FORCE_CUDA=1' if force == '1' else
           f'CUDA toolkit (nvcc {nvcc}) and TORCH_CUDA_ARCH_LIST found')
    arch = arch_env or ';'.join(sorted(set(caps)))
    if not arch:
        raise PlanError(
            'FORCE_CUDA=1 but no GPU to read the architecture from: set '
            'TORCH_CUDA_ARCH_LIST (e.g. "9.0" for H100/H200, "8.0" for A100, '
            '"8.0;9.0" for both), or FORCE_CUDA=0 for CPU-only ops')
    if nvcc is None:
        raise PlanError(
            f"{why} but no nvcc to build mmcv's CUDA ops: put CUDA "
            f"{torch['cuda'].split('.')[0]}'s nvcc on PATH (or set CUDA_HOME), "
            f'or install the torch matching your nvcc ({TORCH_INDEX_HINT}), '
            'or set FORCE_CUDA=0 for CPU-only ops')
    if nvcc.split('.')[0] != torch['cuda'].split('.')[0]:
        raise PlanError(
            f"nvcc {nvcc} cannot build ops for torch {torch['version']} (CUDA "
            f"{torch['cuda']}): use nvcc {torch['cuda'].split('.')[0]}.x, or "
            f'the torch matching nvcc {nvcc} (TORCH_INDEX_URL=https://download'
            f".pytorch.org/whl/cu{nvcc.replace('.', '')})")
    return dict(cuda=True, arch=arch, why=f'{why}: CUDA ops for {arch}',
                key=wheel_key(torch['version'], py, torch['cuda'], arch))


def action(plan: Dict, mmcv: Optional[Dict], recorded: Optional[str]) -> str:
    """``'keep'`` when the installed mmcv already is what ``plan`` wants,
    else ``'install'`` (a reason follows after ``': '``)."""
    if mmcv is None:
        return 'install: mmcv not installed'
    if mmcv['version'] != MMCV_VERSION:
        return f"install: mmcv {mmcv['version']} installed, not {MMCV_VERSION}"
    if not mmcv['ops']:
        return 'install: installed mmcv has no compiled ops that import'
    has_cuda = mmcv['cuda'] not in (None, CPU_ONLY)
    if not plan['cuda']:
        return ('keep: installed mmcv has CPU ops, as wanted' if not has_cuda
                else f"keep: installed mmcv has CUDA {mmcv['cuda']} ops (CPU "
                'ops wanted; they run on the CPU too)')
    if not has_cuda:
        return 'install: installed mmcv has CPU-only ops, CUDA ops wanted'
    if recorded != plan['key']:
        return (f'install: installed CUDA ops were built as {recorded or "?"}'
                f", wanted {plan['key']}")
    return f"keep: installed mmcv has CUDA {mmcv['cuda']} ops for {plan['arch']}"


def verify() -> int:
    """Run RoIAlign and nms on the GPU when torch sees one; one line."""
    import torch
    if not torch.cuda.is_available():
        print('[setup_env] no GPU visible: CUDA ops not run here')
        return 0
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from mmcv.ops import get_compiling_cuda_version

    from pico_mm.gpu_check.flow import run_mmcv_ops
    name = torch.cuda.get_device_name()
    try:
        run_mmcv_ops('cuda')
    except Exception as err:  # one line naming the fix
        text = str(err).strip().splitlines()
        print(f"[setup_env] mmcv's ops fail on {name} (mmcv compiled with "
              f'CUDA {get_compiling_cuda_version()}): {type(err).__name__}: '
              f"{text[0] if text else ''}; rebuild with CUDA ops for this GPU: "
              're-run on a GPU node, or FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=<arch> '
              'bash scripts/setup_env.sh', file=sys.stderr)
        return 1
    print(f'[setup_env] RoIAlign and nms ran on {name} (cuda:0)')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('command', choices=['plan', 'verify'])
    p.add_argument('--record', help='file holding the cache key of the '
                   'installed CUDA build')
    p.add_argument('--torch-json',
                   default=os.environ.get('PICO_MM_PLAN_TORCH_JSON'),
                   help='facts instead of asking torch (tests): {"version", '
                   '"cuda", "caps"}; default $PICO_MM_PLAN_TORCH_JSON')
    p.add_argument('--mmcv-json',
                   default=os.environ.get('PICO_MM_PLAN_MMCV_JSON'),
                   help='facts instead of asking mmcv (tests): {"version", '
                   '"ops", "cuda"} or null; default $PICO_MM_PLAN_MMCV_JSON')
    args = p.parse_args(argv)
    if args.command == 'verify':
        return verify()
    torch = json.loads(args.torch_json) if args.torch_json else torch_facts()
    py = f'{sys.version_info[0]}{sys.version_info[1]}'
    try:
        plan = decide(torch, nvidia_smi_caps(), nvcc_version(), os.environ,
                      py)
    except PlanError as err:
        print(f'[setup_env] cannot build mmcv as wanted: {err}',
              file=sys.stderr)
        return 2
    mmcv = json.loads(args.mmcv_json) if args.mmcv_json else mmcv_facts()
    recorded = None
    if args.record and osp.isfile(args.record):
        with open(args.record, encoding='utf-8') as f:
            recorded = f.read().strip()
    what, why = action(plan, mmcv, recorded).split(': ', 1)
    for name, value in (('KEY', plan['key']), ('CUDA', int(plan['cuda'])),
                        ('ARCH', plan['arch']), ('ACTION', what),
                        ('WHY', f"{plan['why']}; {why}")):
        print(f'MMCV_{name}={shlex.quote(str(value))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
