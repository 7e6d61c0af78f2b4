"""tools/{dist,slurm}_{train,test}.sh: mmselfsup's argument shapes, ${PYTHON}
honoured, arguments passed through unchanged (fake srun / python stubs)."""
import os
import os.path as osp
import subprocess

import pytest

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'tools')


@pytest.fixture
def stubs(tmp_path):
    """A ``python`` stub (PYTHON) and an ``srun`` on PATH; both write their
    argv, one argument per line, to a file."""
    log = tmp_path / 'argv'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name in ('mypython', 'srun'):
        p = bin_dir / name
        p.write_text(f'#!/bin/sh\necho "== {name}" >> "{log}"\n'
                     f'for a in "$@"; do echo "$a" >> "{log}"; done\n')
        p.chmod(0o755)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               PYTHON=str(bin_dir / 'mypython'))

    def run(script, *args):
        if log.exists():
            log.unlink()
        proc = subprocess.run(['bash', osp.join(TOOLS, script), *args],
                              env=env, capture_output=True, text=True,
                              timeout=30)
        assert proc.returncode == 0, proc.stderr
        return log.read_text().splitlines()
    return run


def test_dist_train_and_test(stubs):
    argv = stubs('dist_train.sh', 'cfg.py', '4', '--work-dir', 'my dir',
                 '--cfg-options', 'a=1')
    assert argv[0] == '== mypython'
    assert argv[1:3] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=4' in argv
    i = argv.index(osp.join(TOOLS, 'train.py'))
    assert argv[i + 1:] == ['cfg.py', '--launcher', 'pytorch', '--work-dir',
                            'my dir', '--cfg-options', 'a=1']
    argv = stubs('dist_test.sh', 'cfg.py', 'ck.pth', '2', '--out', 'm.json')
    assert '--nproc_per_node=2' in argv
    i = argv.index(osp.join(TOOLS, 'test.py'))
    assert argv[i + 1:] == ['cfg.py', 'ck.pth', '--launcher', 'pytorch',
                            '--out', 'm.json']


def test_slurm_train_and_test_have_mmselfsups_shape(stubs):
    # slurm_train.sh PARTITION JOB_NAME CONFIG [PY_ARGS...]
    argv = stubs('slurm_train.sh', 'gpu', 'pico', 'cfg.py', '--work-dir',
                 'w', '--resume')
    assert argv[0] == '== srun'
    assert argv[1:3] == ['-p', 'gpu'] and '--job-name=pico' in argv
    i = [k for k, a in enumerate(argv) if a.endswith('mypython')][0]
    assert argv[i + 1:] == ['-u', osp.join(TOOLS, 'train.py'), 'cfg.py',
                            '--launcher=slurm', '--work-dir', 'w',
                            '--resume']
    argv = stubs('slurm_test.sh', 'gpu', 'ev', 'cfg.py', 'ck.pth', '--out',
                 'm.json')
    i = [k for k, a in enumerate(argv) if a.endswith('mypython')][0]
    assert argv[i + 1:] == ['-u', osp.join(TOOLS, 'test.py'), 'cfg.py',
                            'ck.pth', '--launcher=slurm', '--out', 'm.json']
    argv = stubs('slurm_train.sh', 'gpu', 'pico', 'cfg.py')  # no PY_ARGS
    assert argv[-2:] == ['cfg.py', '--launcher=slurm']


def test_every_launcher_honours_PYTHON():
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
                   'slurm_test.sh'):
        text = open(osp.join(TOOLS, script)).read()
        assert 'PYTHON=${PYTHON:-python}' in text, script
        code = [ln for ln in text.splitlines() if not ln.startswith('#')]
        assert not any(ln.strip().startswith('python') or ' python ' in ln
                       for ln in code), script
