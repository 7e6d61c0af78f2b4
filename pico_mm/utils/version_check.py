"""Supported version ranges of pico_mm's dependencies, checked on import.

``SUPPORTED`` is the one place the ranges live: ``setup.py`` turns it into
``install_requires`` and ``requirements/runtime.txt`` repeats it (a test
keeps the two equal and checks that the exact pins of
``requirements/constraints.txt``, the versions the set-up script installs and
the tests run on, fall inside). ``import pico_mm`` checks the installed
OpenMMLab stack, ``import pico_mm.seg`` / ``pico_mm.det`` check mmseg /
mmdet, and a version outside its range is one ``ImportError`` that names the
package, the version found and the supported range.

Override, for environments that bring their own torch/numpy (a GPU machine
with a newer CUDA torch and numpy 2, say): ``PICO_MM_ALLOW_UNSUPPORTED`` is a
comma-separated list of distribution names (or ``all``) whose out-of-range
versions are allowed; each one allowed prints one line to stderr::

    pico_mm: numpy 2.5.2 is outside the supported numpy>=1.23,<2.0 (...);
    allowed by PICO_MM_ALLOW_UNSUPPORTED=numpy (untested combination)

``tools/gpu_check.py`` sets it to ``all`` for its own run and says so.

Pure python (``importlib.metadata``): nothing is imported to read a version.
"""
import os
import re
import sys
from importlib import metadata
from typing import Dict, Iterable, Optional, Tuple

#: environment variable naming the packages whose range is not enforced
ALLOW_ENV = 'PICO_MM_ALLOW_UNSUPPORTED'

#: distribution name -> (lower bound inclusive, upper bound exclusive or None),
#: why. Only the exact pins of requirements/constraints.txt are tested.
SUPPORTED: Dict[str, Tuple[str, Optional[str], str]] = {
    'torch': ('2.5', None, 'weights-only checkpoint loading with an '
              'allow-list (add_safe_globals with (obj, name) pairs)'),
    'torchvision': ('0.20', None, 'RAFT flow model, matching torch'),
    'numpy': ('1.23', '2.0', "mmcv 2.0.x's ColorJitter overflows under "
              'numpy 2'),
    'opencv-python-headless': ('4.5', '4.12', 'opencv-python(-headless) '
                               '4.12 and later require numpy >= 2'),
    'mmengine': ('0.10.0', '1.0.0', 'mmengine 0.10 Runner/registries'),
    'mmcv': ('2.0.0', '2.1.0', 'mmselfsup 1.0.0 and mmcls 1.0.0rc6 refuse '
             'mmcv >= 2.1'),
    'mmcls': ('1.0.0rc6', '1.1.0', "mmselfsup 1.0.0's classification "
              'backbones'),
    'mmselfsup': ('1.0.0', '1.1.0', 'pre-training registries'),
    'mmdet': ('3.0.0', '3.4.0', 'MMDetection 3.x configs and registries'),
    'mmsegmentation': ('1.0.0', '1.3.0', 'MMSegmentation 1.x configs and '
                       'registries'),
}


def spec(name: str) -> str:
    """pip requirement string of ``name``, e.g. ``'mmcv>=2.0.0,<2.1.0'``."""
    low, high, _ = SUPPORTED[name]
    return f'{name}>={low}' + (f',<{high}' if high else '')


def parse_version(text: str) -> tuple:
    """Sortable key of a version string (PEP 440 subset).

    ``'2.14.1+cpu'`` -> ``((2, 14, 1), (1, 0))``; pre-releases sort before
    the release: ``'1.0.0rc6'`` -> ``((1, 0, 0), (0, 6))``. Trailing zeros do
    not matter (``'2.0' == '2.0.0'``).

    Raises:
        ValueError: Not a version string.
    """
    m = re.match(r'^\s*v?(\d+(?:\.\d+)*)(?:\.?(a|b|rc)\.?(\d*))?', text)
    if not m:
        raise ValueError(f'not a version: {text!r}')
    release = [int(x) for x in m.group(1).split('.')]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = (0, int(m.group(3) or 0)) if m.group(2) else (1, 0)
    return tuple(release), pre


def installed_version(name: str) -> Optional[str]:
    """Version of an installed distribution, or None when absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def allowed_unsupported(env: Optional[Dict[str, str]] = None) -> set:
    """Names in ``$PICO_MM_ALLOW_UNSUPPORTED`` (``{'all'}`` allows all)."""
    value = (os.environ if env is None else env).get(ALLOW_ENV, '')
    return {n.strip() for n in value.split(',') if n.strip()}


def check_versions(names: Iterable[str],
                   found: Optional[Dict[str, Optional[str]]] = None) -> None:
    """Raise if an installed package is outside its supported range.

    Args:
        names: Distribution names (keys of :data:`SUPPORTED`). Packages that
            are not installed are skipped (their import fails on its own).
        found: ``name -> version`` to check instead of the installed
            versions (tests).

    Raises:
        ImportError: ``pico_mm supports mmcv>=2.0.0,<2.1.0 (mmselfsup ...);
        found mmcv 2.1.0: pip install "mmcv>=2.0.0,<2.1.0" ...``, unless
        ``$PICO_MM_ALLOW_UNSUPPORTED`` names the package (or ``all``): then
        one warning line on stderr.
    """
    allow = allowed_unsupported()
    for name in names:
        version = (found or {}).get(name) if found is not None else \
            installed_version(name)
        if version is None:
            continue
        low, high, why = SUPPORTED[name]
        key = parse_version(version)
        ok = key >= parse_version(low) and (high is None or
                                            key < parse_version(high))
        if not ok and (name in allow or 'all' in allow):
            print(f'pico_mm: {name} {version} is outside the supported '
                  f'{spec(name)} ({why}); allowed by {ALLOW_ENV}='
                  f'{os.environ.get(ALLOW_ENV)} (untested combination)',
                  file=sys.stderr)
        elif not ok:
            raise ImportError(
                f'pico_mm supports {spec(name)} ({why}); found {name} '
                f'{version}. Install a supported version (pip install '
                f'"{spec(name)}"), or the tested pins: pip install -c '
                'requirements/constraints.txt -e .; or, to try an untested '
                f'combination, {ALLOW_ENV}={name})')
