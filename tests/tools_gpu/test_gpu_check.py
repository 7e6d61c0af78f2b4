"""tools/gpu_check.py off the GPU: one line and exit 0 without a GPU; parts
whose package is missing are skipped with one line; a failing part is one
row with its error and exit 1. Also the override it relies on
(PICO_MM_ALLOW_UNSUPPORTED) and the export hint it follows (pico2mm.py)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

import pico_eval_tiny_data as tiny  # tests/_helpers

from pico_mm.gpu_check.core import (Part, SkipPart, exit_status,
                                          format_row, run_parts)
from pico_mm.utils.version_check import check_versions

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'gpu_check.py')

# Makes `import mmcv.ops` fail as in an environment with mmcv-lite only.
BLOCK_MMCV_OPS = '''
import importlib.abc, runpy, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in ('mmcv.ops', 'mmcv._ext'):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
sys.meta_path.insert(0, _Block())
sys.argv = [sys.argv[1]] + sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def _run(args, code=None, **env):
    cmd = [sys.executable] + (['-c', code, TOOL] if code else [TOOL]) + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         cwd=REPO, env=dict(os.environ, **env))
    return out.returncode, out.stdout, out.stderr


def test_without_gpu_one_line_and_exit_0(tmp_path):
    out = tmp_path / 'r.json'
    rc, stdout, stderr = _run(['--out', str(out)], CUDA_VISIBLE_DEVICES='')
    assert rc == 0, stderr
    lines = stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'gpu_check: no GPU visible (torch ') and 'nothing checked' in lines[0]
    assert not out.exists()


def test_missing_package_is_skipped_with_one_clear_line(tmp_path):
    out = tmp_path / 'r.json'
    rc, stdout, stderr = _run(['--device', 'cpu', '--parts', 'cuda_ops',
                               '--out', str(out), '--work-dir',
                               str(tmp_path / 'w')], code=BLOCK_MMCV_OPS)
    assert rc == 0, stdout + stderr
    row = [ln for ln in stdout.splitlines() if ln.startswith('cuda_ops ')]
    assert len(row) == 1 and ' skipped ' in row[0], stdout
    assert "needs mmcv.ops (ModuleNotFoundError: No module named 'mmcv.ops'" \
        in row[0] and 'install: mmcv built with CUDA ops' in row[0]
    part, = json.loads(out.read_text())['parts']
    assert (part['name'], part['status']) == ('cuda_ops', 'skipped')
    assert 'device cpu' in stdout  # every process prints its device


def test_failing_part_is_a_row_with_its_error_and_exit_1(tmp_path):
    out = tmp_path / 'r.json'
    rc, stdout, stderr = _run(['--device', 'cpu', '--parts',
                               'raft_fp32,raft_bf16', '--raft-checkpoint',
                               '/nonexistent/raft.pth', '--clip-frames', '3',
                               '--out', str(out), '--work-dir',
                               str(tmp_path / 'w')])
    assert rc == 1, stdout + stderr
    rows = {ln.split()[0]: ln for ln in stdout.splitlines()
            if ln.startswith('raft_')}
    assert ' failed ' in rows['raft_fp32'] and (
        'FileNotFoundError: /nonexistent/raft.pth: no RAFT weights; pass '
        '--raft-checkpoint PATH') in rows['raft_fp32']
    assert ' skipped ' in rows['raft_bf16'] and \
        'needs part raft_fp32 (failed)' in rows['raft_bf16']
    parts = json.loads(out.read_text())['parts']
    assert [p['status'] for p in parts] == ['failed', 'skipped']


def test_unknown_part_is_refused(tmp_path):
    rc, _, stderr = _run(['--device', 'cpu', '--parts', 'nope', '--out',
                          str(tmp_path / 'r.json')])
    assert rc == 2 and 'error: --parts nope: unknown' in stderr


def test_run_parts_each_in_its_own_try():
    def boom(ctx):
        raise RuntimeError('first line\nsecond line')

    def skip(ctx):
        raise SkipPart('tools/train.py has no --amp-dtype here')

    parts = [Part('a', lambda ctx: dict(x=1.5)),
             Part('b', boom),
             Part('c', lambda ctx: {}, after=('b', )),
             Part('d', lambda ctx: {}, needs=('no_such_module_xyz', )),
             Part('e', skip),
             Part('f', lambda ctx: dict(y=2), after=('a', ))]
    seen = []
    results = run_parts(parts, {}, seen.append)
    assert [r.status for r in seen] == ['ok', 'failed', 'skipped', 'skipped',
                                        'skipped', 'ok']
    assert seen[1].message == 'RuntimeError: first line'
    assert seen[2].message == 'needs part b (failed)'
    assert seen[3].message.startswith(
        "needs no_such_module_xyz (ModuleNotFoundError: No module named "
        "'no_such_module_xyz'); install: bundle it with scripts/gpu_bundle.sh")
    assert seen[4].message == 'tools/train.py has no --amp-dtype here'
    assert exit_status(results) == 1
    assert exit_status([r for r in results if r.name != 'b']) == 0
    assert format_row(seen[0]).split() == ['a', 'ok', '0.0s', 'x', '1.5']


def test_allow_unsupported_prints_one_line_instead_of_refusing(
        monkeypatch, capsys):
    monkeypatch.delenv('PICO_MM_ALLOW_UNSUPPORTED', raising=False)
    with pytest.raises(ImportError, match='PICO_MM_ALLOW_UNSUPPORTED=numpy'):
        check_versions(['numpy'], found={'numpy': '2.5.2'})
    monkeypatch.setenv('PICO_MM_ALLOW_UNSUPPORTED', 'torch,numpy')
    check_versions(['numpy'], found={'numpy': '2.5.2'})
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['pico_mm: numpy 2.5.2 is outside the supported '
                   "numpy>=1.23,<2.0 (mmcv 2.0.x's ColorJitter overflows "
                   'under numpy 2); allowed by PICO_MM_ALLOW_UNSUPPORTED='
                   'torch,numpy (untested combination)']
    with pytest.raises(ImportError):  # only the named packages
        check_versions(['mmcv'], found={'mmcv': '2.1.0'})


def test_export_hint_names_the_key_the_mmdet_configs_take(tmp_path, capsys):
    """pico2mm.py --target mmdet says model.frozen_checkpoint=OUT (the
    frozen Mask R-CNN configs' key), not load_from."""
    p2m = tiny.load_tool('tools/model_converters/pico2mm.py')
    src = str(tmp_path / 'moco.pth.tar')
    tiny.make_moco_checkpoint(src)
    for target, key in (('mmdet', 'model.frozen_checkpoint'),
                        ('mmseg', 'model.backbone.checkpoint')):
        dst = str(tmp_path / f'{target}.pth')
        assert p2m.main([src, dst, '--target', target, '--source', 'moco',
                         '--no-verify']) == 0
        hint = capsys.readouterr().out.strip().splitlines()[-1]
        assert hint == f'use it with: --cfg-options {key}={dst}'
    for name in os.listdir(osp.join(REPO, 'configs', 'benchmarks', 'mmdet')):
        with open(osp.join(REPO, 'configs', 'benchmarks', 'mmdet', name)) as f:
            text = f.read()
        assert 'frozen_checkpoint=' in text and \
            '--cfg-options model.frozen_checkpoint=OUT' in text, name
