"""scripts/setup_env.sh's mmcv build decision (scripts/cuda_build_plan.py):
CPU or CUDA ops, cache key, rebuild from the installed mmcv's real state.

No GPU is needed: torch's and mmcv's answers are given as JSON, and fake
``nvidia-smi`` / ``nvcc`` programs on PATH stand for the machine's."""
import hashlib
import json
import os
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAN = os.path.join(REPO, 'scripts', 'cuda_build_plan.py')
PY = f'{sys.version_info[0]}{sys.version_info[1]}'
CUDA_TORCH = dict(version='2.14.1', cuda='13.0', caps=[])
CPU_MMCV = dict(version='2.0.1', ops=True, cuda='not available')


def _fake_bin(tmp_path, smi_caps=None, nvcc=None):
    """A PATH folder with fake nvidia-smi (listing ``smi_caps``) / nvcc
    (``release <nvcc>``), and nothing else of CUDA's."""
    bin_dir = tmp_path / f'bin{len(list(tmp_path.glob("bin*")))}'
    bin_dir.mkdir()
    if smi_caps is not None:
        (bin_dir / 'nvidia-smi').write_text(
            '#!/bin/sh\n' + ''.join(f'echo {c}\n' for c in smi_caps))
        (bin_dir / 'nvidia-smi').chmod(0o755)
    if nvcc is not None:
        (bin_dir / 'nvcc').write_text(
            f'#!/bin/sh\necho "Cuda compilation tools, release {nvcc}, '
            f'V{nvcc}.88"\n')
        (bin_dir / 'nvcc').chmod(0o755)
    return str(bin_dir)


def _env(tmp_path, smi_caps=None, nvcc=None, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'CUDA_HOME',
                        'CUDA_PATH')}
    # /bin for sh: the real nvcc of this machine (if any) is off the PATH
    env.update(PATH=_fake_bin(tmp_path, smi_caps, nvcc) + ':/usr/bin:/bin',
               **extra)
    return env


def _plan(tmp_path, torch=CUDA_TORCH, mmcv=CPU_MMCV, record=None,
          smi_caps=None, nvcc=None, **extra):
    args = [sys.executable, PLAN, 'plan', '--torch-json', json.dumps(torch),
            '--mmcv-json', json.dumps(mmcv)]
    if record is not None:
        (tmp_path / 'record').write_text(record + '\n')
        args += ['--record', str(tmp_path / 'record')]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60,
                         env=_env(tmp_path, smi_caps, nvcc, **extra))
    if out.returncode:
        return out.returncode, out.stderr.strip()
    values = {}
    for line in out.stdout.splitlines():
        name, _, value = line.partition('=')
        values[name] = shlex.split(value)[0] if value else ''
    return 0, values


def test_no_gpu_no_toolkit_keeps_cpu_key_and_cpu_install(tmp_path):
    rc, v = _plan(tmp_path)
    assert rc == 0
    assert v['MMCV_KEY'] == f'mmcv2.0.1-torch2.14.1-py{PY}-cpu'
    assert (v['MMCV_CUDA'], v['MMCV_ARCH'], v['MMCV_ACTION']) == \
        ('0', '', 'keep')
    # a toolkit alone names the way to CUDA ops but stays on the CPU key
    rc, v = _plan(tmp_path, nvcc='13.0')
    assert (rc, v['MMCV_KEY'], v['MMCV_ACTION']) == \
        (0, f'mmcv2.0.1-torch2.14.1-py{PY}-cpu', 'keep')
    assert 'nvcc 13.0 found' in v['MMCV_WHY'] and 'FORCE_CUDA=1' in \
        v['MMCV_WHY']
    # nothing installed yet: install
    rc, v = _plan(tmp_path, mmcv=None)
    assert v['MMCV_ACTION'] == 'install'


def test_gpu_visible_wants_cuda_ops_for_its_arch(tmp_path):
    torch = dict(CUDA_TORCH, version='2.14.1+cu130', caps=['9.0'])
    rc, v = _plan(tmp_path, torch=torch, smi_caps=['9.0'], nvcc='13.0')
    assert rc == 0
    assert v['MMCV_KEY'] == f'mmcv2.0.1-torch2.14.1-py{PY}-cu13.0-arch9.0'
    assert (v['MMCV_CUDA'], v['MMCV_ARCH']) == ('1', '9.0')
    # the installed CPU-only mmcv is rebuilt, whatever an old stamp says
    assert v['MMCV_ACTION'] == 'install'
    assert 'CPU-only ops, CUDA ops wanted' in v['MMCV_WHY']
    cuda_mmcv = dict(CPU_MMCV, cuda='13.0')
    rc, v = _plan(tmp_path, torch=torch, mmcv=cuda_mmcv, smi_caps=['9.0'],
                  nvcc='13.0', record=v['MMCV_KEY'])
    assert v['MMCV_ACTION'] == 'keep'
    # the same venv on another GPU type: other arch, other key, rebuild
    rc, v = _plan(tmp_path, torch=dict(torch, caps=['8.0']), mmcv=cuda_mmcv,
                  smi_caps=['8.0'], nvcc='13.0',
                  record=f'mmcv2.0.1-torch2.14.1-py{PY}-cu13.0-arch9.0')
    assert v['MMCV_KEY'].endswith('-cu13.0-arch8.0')
    assert v['MMCV_ACTION'] == 'install'


def test_forced_on_login_node(tmp_path):
    rc, v = _plan(tmp_path, nvcc='13.0', FORCE_CUDA='1',
                  TORCH_CUDA_ARCH_LIST='9.0;8.0')
    assert rc == 0 and v['MMCV_CUDA'] == '1'
    assert v['MMCV_KEY'] == f'mmcv2.0.1-torch2.14.1-py{PY}-cu13.0-arch8.0_9.0'
    assert v['MMCV_ARCH'] == '9.0;8.0' and v['MMCV_ACTION'] == 'install'
    # toolkit + arch list without FORCE_CUDA: CUDA ops too
    rc, v = _plan(tmp_path, nvcc='13.0', TORCH_CUDA_ARCH_LIST='9.0')
    assert rc == 0 and v['MMCV_CUDA'] == '1'
    # FORCE_CUDA=0: CPU ops on purpose even with a GPU
    rc, v = _plan(tmp_path, torch=dict(CUDA_TORCH, caps=['9.0']),
                  smi_caps=['9.0'], nvcc='13.0', FORCE_CUDA='0')
    assert rc == 0 and v['MMCV_KEY'].endswith('-cpu')


@pytest.mark.parametrize('case,fix', [
    (dict(nvcc='13.0', FORCE_CUDA='1'), 'set TORCH_CUDA_ARCH_LIST'),
    (dict(FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0'), "put CUDA 13's nvcc"),
    (dict(nvcc='12.6', FORCE_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0'),
     'whl/cu126'),
    (dict(smi_caps=['9.0'], nvcc='13.0'), 'cannot use it'),  # old driver
    (dict(torch=dict(CUDA_TORCH, cuda=None), FORCE_CUDA='1',
          TORCH_CUDA_ARCH_LIST='9.0'), 'is a CPU build'),
])
def test_impossible_cuda_build_is_one_line_naming_the_fix(tmp_path, case,
                                                          fix):
    rc, text = _plan(tmp_path, **case)
    assert rc == 2 and len(text.splitlines()) == 1, text
    assert text.startswith('[setup_env] cannot build mmcv as wanted: ')
    assert fix in text


def test_this_machine_keeps_its_installed_mmcv():
    """No GPU here: the real torch/mmcv answers give the CPU key the wheel
    cache already holds, and the installed CPU ops are kept (no rebuild)."""
    import torch
    env = {k: v for k, v in os.environ.items()
           if k not in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST')}
    out = subprocess.run([sys.executable, PLAN, 'plan'], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert f"MMCV_KEY=mmcv2.0.1-torch{torch.__version__.split('+')[0]}-py" \
        f'{PY}-cpu' in out.stdout
    assert 'MMCV_ACTION=keep' in out.stdout, out.stdout


def _fake_repo(tmp_path):
    """setup_env.sh, its plan, requirements and setup.py in a folder whose
    .venv/bin/python runs only the plan (a pip call fails, installs
    nothing)."""
    root = tmp_path / 'repo'
    (root / 'scripts').mkdir(parents=True)
    (root / 'requirements').mkdir()
    files = ['scripts/setup_env.sh', 'scripts/cuda_build_plan.py', 'setup.py']
    files += [f'requirements/{n}' for n in
              sorted(os.listdir(os.path.join(REPO, 'requirements')))
              if n.endswith('.txt')]
    for rel in files:
        with open(os.path.join(REPO, rel), 'rb') as f:
            (root / rel).write_bytes(f.read())
    venv_bin = root / '.venv' / 'bin'
    venv_bin.mkdir(parents=True)
    (venv_bin / 'python').write_text(
        '#!/bin/sh\ncase "$1" in scripts/cuda_build_plan.py) exec '
        f'{sys.executable} "$@";; esac\necho "fake python: $*" >&2\nexit 3\n')
    (venv_bin / 'python').chmod(0o755)
    data = b''.join(open(root / rel, 'rb').read() for rel in
                    sorted(f'requirements/{n}' for n in os.listdir(
                        root / 'requirements')) +
                    ['setup.py', 'scripts/setup_env.sh',
                     'scripts/cuda_build_plan.py']) + b'\n'
    stamp = hashlib.sha256(data).hexdigest()[:16]
    (root / '.venv' / '.pico_mm_stamp').write_text(stamp + '\n')
    return root


def test_stamp_is_not_trusted_when_cuda_ops_are_wanted(tmp_path):
    root = _fake_repo(tmp_path)
    facts = dict(PICO_MM_PLAN_MMCV_JSON=json.dumps(CPU_MMCV),
                 PICO_MM_MIN_FREE_GB='0', PICO_MM_CACHE=str(tmp_path / 'c'))

    def run(**kw):
        out = subprocess.run(['bash', 'scripts/setup_env.sh'], cwd=root,
                             capture_output=True, text=True, timeout=120,
                             env=_env(tmp_path, **kw))
        return out.returncode, out.stdout + out.stderr

    # no GPU: stamp matches and the installed CPU ops are what is wanted
    rc, text = run(PICO_MM_PLAN_TORCH_JSON=json.dumps(CUDA_TORCH), **facts)
    assert rc == 0 and text.strip() == (
        f'[setup_env] environment up to date ({root}/.venv; mmcv '
        f'mmcv2.0.1-torch2.14.1-py{PY}-cpu)'), text
    # a GPU now: the same stamp no longer means "up to date"
    rc, text = run(PICO_MM_PLAN_TORCH_JSON=json.dumps(
        dict(CUDA_TORCH, caps=['9.0'])), smi_caps=['9.0'], nvcc='13.0',
        **facts)
    assert rc != 0 and 'up to date' not in text
    assert ('[setup_env] mmcv needs a new build: GPU visible: CUDA ops for '
            '9.0; installed mmcv has CPU-only ops, CUDA ops wanted') in text
    # forced without an arch list and no GPU: one line naming the fix
    rc, text = run(PICO_MM_PLAN_TORCH_JSON=json.dumps(CUDA_TORCH),
                   nvcc='13.0', FORCE_CUDA='1', **facts)
    assert rc == 1 and 'set TORCH_CUDA_ARCH_LIST' in text
    assert 'up to date' not in text


def test_gpu_verify_failure_is_one_line_naming_the_fix(monkeypatch, capsys):
    """A GPU that torch reports but on which mmcv's ops cannot run (here: a
    faked one) fails the set-up's last step with one line and the fix."""
    import importlib.util

    import torch
    spec = importlib.util.spec_from_file_location('cuda_build_plan', PLAN)
    plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *a: 'FakeGPU')
    assert plan.verify() == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "[setup_env] mmcv's ops fail on FakeGPU (mmcv compiled with CUDA "
        'not available): ')
    assert err[0].endswith('rebuild with CUDA ops for this GPU: re-run on a '
                           'GPU node, or FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST='
                           '<arch> bash scripts/setup_env.sh')
