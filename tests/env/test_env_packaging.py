"""Packaging: compatible ranges in install_requires, exact pins in the
constraints file, version checks on import, python_requires vs README,
LICENSE, citation and results section of the README."""
import os
import re
import runpy
import subprocess
import sys

import pytest

from pico_mm.utils.version_check import (SUPPORTED, check_versions,
                                         parse_version, spec)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(rel):
    with open(os.path.join(REPO, rel), encoding='utf-8') as f:
        return f.read()


def _reqs(rel):
    return [ln.strip() for ln in _read(rel).splitlines()
            if ln.strip() and not ln.startswith('#')]


@pytest.fixture(scope='module')
def setup_kwargs():
    """The keyword arguments setup.py passes to setuptools.setup."""
    import setuptools
    seen, orig, cwd = {}, setuptools.setup, os.getcwd()
    setuptools.setup = lambda **kw: seen.update(kw)
    os.chdir(REPO)
    try:
        runpy.run_path('setup.py', run_name='__main__')
    finally:
        setuptools.setup = orig
        os.chdir(cwd)
    return seen


def test_install_requires_are_ranges_and_pins_stay_in_constraints(
        setup_kwargs):
    reqs = setup_kwargs['install_requires']
    assert reqs == _reqs('requirements/runtime.txt')
    assert not any('==' in r for r in reqs), reqs
    for name in SUPPORTED:  # mmcv: installed with its ops, checked on import
        if name == 'mmcv':
            assert not any(r.startswith('mmcv') for r in reqs)
        else:
            assert spec(name) in reqs, name
    pins = dict(ln.split('==') for ln in _reqs('requirements/constraints.txt'))
    for name, (low, high, _) in SUPPORTED.items():
        v = parse_version(pins[name])  # every range has a tested pin inside
        assert v >= parse_version(low), name
        assert high is None or v < parse_version(high), name
    script = _read('scripts/setup_env.sh')
    assert '-c "$CONSTRAINTS"' in script and 'requirements/constraints.txt' \
        in script


def test_installed_stack_is_in_range():
    check_versions(list(SUPPORTED))


def test_version_order():
    assert parse_version('1.0.0rc6') < parse_version('1.0.0')
    assert parse_version('1.0.0rc5') < parse_version('1.0.0rc6')
    assert parse_version('2.0') == parse_version('2.0.0')
    assert parse_version('2.14.1+cpu') > parse_version('2.5')
    assert parse_version('0.10.7') < parse_version('1.0.0')


def test_out_of_range_version_is_one_clear_import_error():
    with pytest.raises(ImportError) as e:
        check_versions(['mmcv'], found={'mmcv': '2.1.0'})
    msg = str(e.value)
    assert 'pico_mm supports mmcv>=2.0.0,<2.1.0' in msg
    assert 'found mmcv 2.1.0' in msg and len(msg.splitlines()) == 1
    check_versions(['mmcv'], found={'mmcv': '2.0.1'})
    check_versions(['mmcv'], found={'mmcv': None})  # not installed: skipped


def test_import_pico_mm_checks_the_installed_stack(tmp_path):
    """A (fake) mmcv 2.1.0 found first on the path makes `import pico_mm`
    fail with the package and its range."""
    dist = tmp_path / 'mmcv-2.1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmcv\n'
                                   'Version: 2.1.0\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
    out = subprocess.run([sys.executable, '-c', 'import pico_mm'], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: pico_mm supports '
                           'mmcv>=2.0.0,<2.1.0'), out.stderr


def test_python_requires_matches_readme_and_setup_script(setup_kwargs):
    req = setup_kwargs['python_requires']
    readme = _read('README.md')
    assert f"python_requires='{req}'" in readme
    low = req.lstrip('>=')
    assert parse_version('3.11') >= parse_version(low)  # the tested one
    assert 'PYTHON=${PYTHON:-python3.11}' in _read('scripts/setup_env.sh')


def test_license_citation_and_results_section(setup_kwargs):
    text = _read('LICENSE')
    assert text.lstrip().startswith('Apache License') and \
        'Version 2.0, January 2004' in text
    assert setup_kwargs['license'] == 'Apache-2.0'
    readme = _read('README.md')
    bib = re.search(r'```bibtex\n(.*?)```', readme, re.S).group(1)
    for part in ('Sharma, Yash and Zhu, Yi and Russell, Chris and Brox, '
                 'Thomas', 'Pixel-level Correspondence for Self-Supervised '
                 'Learning from Video', '2207.03866'):
        assert part in bib, part
    assert re.search(r'year\s*=\s*\{2022\}', bib)
    results = readme.split('## Results')[1].split('\n## ')[0]
    assert 'not yet run at scale' in results
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    try:
        from benchmark import format_table
    finally:
        sys.path.pop(0)
    for line in format_table({}).splitlines():  # the paper's numbers
        assert line.rstrip() in results, line
