"""pico_mm: PiCo (pixel-level correspondence from video) as an OpenMMLab plugin."""
from setuptools import find_packages, setup


def _read_reqs(path):
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


setup(
    name='pico_mm',
    version='0.1.0',
    description='PiCo: self-supervised dense features from video, for OpenMMLab',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['pico_mm', 'pico_mm.*']),
    python_requires='>=3.10',
    install_requires=_read_reqs('requirements/runtime.txt'),
    extras_require={'tests': _read_reqs('requirements/tests.txt'),
                    'dev': _read_reqs('requirements/tests.txt')},
    license='Apache-2.0',
)
