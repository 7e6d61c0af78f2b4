"""pico_mm: PiCo (pixel-level correspondence from video) as an OpenMMLab plugin.

``install_requires`` holds compatible ranges (requirements/runtime.txt, equal to
``SUPPORTED`` in pico_mm/utils/version_check.py); the exact tested pins are in
requirements/constraints.txt (``pip install -c requirements/constraints.txt
-e .``, as scripts/setup_env.sh does).
"""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _read(path):
    with open(os.path.join(HERE, path), encoding='utf-8') as f:
        return f.read()


def _read_reqs(path):
    return [ln.strip() for ln in _read(path).splitlines()
            if ln.strip() and not ln.startswith('#')]


setup(
    name='pico_mm',
    version='0.1.0',
    description='PiCo: self-supervised dense features from video, for OpenMMLab',
    long_description=_read('README.md'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['pico_mm', 'pico_mm.*']),
    python_requires='>=3.10',
    install_requires=_read_reqs('requirements/runtime.txt'),
    extras_require={'tests': _read_reqs('requirements/tests.txt'),
                    'dev': _read_reqs('requirements/tests.txt')},
    license='Apache-2.0',
    license_files=['LICENSE'],
)
