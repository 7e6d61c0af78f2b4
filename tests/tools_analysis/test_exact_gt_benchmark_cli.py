"""tools/analysis/exact_gt_benchmark.py on two tiny checkpoints."""
import json
import os.path as osp

import pytest
import torch

from pico_test_tools import ToolRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
TOOL = osp.join(ROOT, 'tools', 'analysis', 'exact_gt_benchmark.py')
ARGS = ['--pairs-per-kind', '2', '--size', '64', '80', '--points', '48',
        '--threads', '1']

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Two differently initialised tiny models: one plain ``{'state_dict'}``
    (needs --config), one with mmengine's ``meta.cfg`` (config read from it)."""
    from mmengine.config import Config
    from mmengine.runner import set_random_seed

    from pico_mm.demo.stages import build_model, save_weights
    d = tmp_path_factory.mktemp('ckpts')
    paths = []
    for seed in (0, 1):
        set_random_seed(seed)
        model = build_model(CONFIG)
        model.init_weights()
        paths.append(save_weights(model, str(d / f'm{seed}.pth')))
    ck = torch.load(paths[1], weights_only=False)
    ck['meta']['cfg'] = Config.fromfile(CONFIG).pretty_text
    torch.save(ck, paths[1])
    return paths


@pytest.fixture(scope='module')
def tool():
    return ToolRunner(TOOL, 'pico_exact_gt_tool', ARGS)


def test_two_checkpoints_table_and_json(ckpts, tool, tmp_path):
    out = str(tmp_path / 'res' / 'gt.json')
    res_ = tool.run(f'a={ckpts[0]}', f'b={ckpts[1]}', f'a_again={ckpts[0]}',
                    '--config', CONFIG, '--split', 'val', 'test', 'stereo',
                    '--out', out)
    text = res_.stdout
    assert res_.returncode == 0, res_.stderr[-2000:]
    assert 'exact-GT' in res_.stderr  # the progress bar
    res = json.load(open(out))
    assert list(res['models']) == ['a', 'b', 'a_again']
    assert set(res['pair_sets']) == {'val', 'test', 'stereo'}
    assert res['pair_sets']['stereo']['pairs'] == {'stereo': 2}
    assert res['pair_sets']['val']['fingerprint'] != \
        res['pair_sets']['test']['fingerprint']
    for name, r in res['models'].items():
        assert list(r['stereo']['scores']) == ['stereo', 'all']
        assert 0 <= r['stereo']['scores']['stereo']['1']['acc'] <= 1
        for split in ('val', 'test'):
            sc = r[split]['scores']
            for group in ('rigid', 'nonrigid', 'all'):
                for rad in ('1', '2'):
                    assert 0 <= sc[group][rad]['acc'] <= 1
                    assert sc[group][rad]['pairs'] > 0
    # Same checkpoint, same numbers; a different one gives different matches.
    assert res['models']['a']['val'] == res['models']['a_again']['val']
    assert res['models']['a']['val'] != res['models']['b']['val']
    for line in ('Exact-GT correspondence, val split', 'test split',
                 'stereo split', 'stereo@1', 'all@2',
                 'chance', 'no motion'):
        assert line in text
    assert any(ln.startswith('b ') for ln in text.splitlines())


def test_config_from_checkpoint_meta(ckpts, tool):
    res = tool.run(ckpts[1])
    assert res.returncode == 0, res.stderr[-2000:]
    assert any(ln.startswith('m1 ') for ln in res.stdout.splitlines())


def test_bad_inputs_are_one_clear_error(ckpts, tool, tmp_path, capsys):
    res = tool.run(ckpts[0])  # no meta.cfg and no --config
    assert res.returncode == 1
    assert 'holds no config' in res.stderr and '--config' in res.stderr
    assert 'Traceback' not in res.stderr
    with pytest.raises(SystemExit) as e:
        tool.module.main([str(tmp_path / 'missing.pth')])
    assert e.value.code == 2
    assert 'not found' in capsys.readouterr().err
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    res = tool.run(str(bad), '--config', CONFIG)
    assert res.returncode == 1 and 'cannot be read' in res.stderr
