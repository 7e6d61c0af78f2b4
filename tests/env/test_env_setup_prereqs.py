"""scripts/setup_env.sh checks the prerequisites of the two commands first:
one clear line per missing one (only the checks run: --check-prereqs)."""
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _check(**env):
    out = subprocess.run(['bash', 'scripts/setup_env.sh', '--check-prereqs'],
                         cwd=REPO, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, **env))
    return out.returncode, out.stdout + out.stderr


def test_each_missing_prerequisite_is_one_line():
    rc, text = _check(PYTHON='/nonexistent/python3.11', MAKE='no-such-make',
                      CXX='/bin/false', PICO_MM_MIN_FREE_GB='1000000')
    assert rc == 1
    lines = text.strip().splitlines()
    assert len(lines) == 4 and all(
        ln.startswith('[setup_env] missing prerequisite: ') for ln in lines)
    for word in ('/nonexistent/python3.11', 'no-such-make',
                 'C++20 compiler as /bin/false', '1000000 GB free disk'):
        assert sum(word in ln for ln in lines) == 1, word
    assert not os.path.exists('/nonexistent')


def test_wrong_python_version_is_named():
    rc, text = _check(PYTHON='/bin/true')  # runs, but is no Python 3.11
    assert rc == 1 and text.strip() == (
        '[setup_env] missing prerequisite: /bin/true must be Python 3.11 '
        'with the venv module (Debian/Ubuntu: apt-get install python3.11-venv)')


@pytest.mark.skipif(not all(shutil.which(t) for t in ('python3.11', 'make',
                                                       'c++')),
                    reason='this machine lacks a prerequisite')
def test_this_machine_passes():
    rc, text = _check(PICO_MM_MIN_FREE_GB='1')
    assert rc == 0 and text.strip() == '[setup_env] prerequisites ok'
