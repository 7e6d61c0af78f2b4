"""benchmarks/bench_raft_accuracy.py: bad input is one error line, exit 1."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(ROOT, 'benchmarks', 'bench_raft_accuracy.py')


@pytest.mark.parametrize('args, message', [
    (['--device', 'cuda'], 'RAFT asked for a GPU (cuda) but none is visible'),
    (['--checkpoint', 'missing.pth'], 'missing.pth: RAFT checkpoint not found'),
])
def test_bad_input_is_one_error_line(tmp_path, args, message):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, BENCH, *args], cwd=tmp_path, env=env,
                          text=True, capture_output=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr
    assert message in lines[0]
