"""tools/analysis/label_propagation.py and tools/data/render_clips.py end to end."""
import json
import os
import os.path as osp

import pytest
import torch

from pico_test_tools import ToolRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rendered'))
    tool = ToolRunner(osp.join(ROOT, 'tools', 'data', 'render_clips.py'),
                      'pico_render_clips_tool')
    res = tool.run(root, '--splits', 'val', 'test', '--clips', '1', '--size',
                   '32', '48', '--frames', '6')
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'fingerprint' in res.stdout
    return root


@pytest.fixture(scope='module')
def lp():
    return ToolRunner(osp.join(ROOT, 'tools', 'analysis', 'label_propagation.py'),
                      'pico_label_propagation_tool', ['--threads', '1'])


def test_render_clips_writes_the_davis_layout(rendered):
    assert open(osp.join(rendered, 'ImageSets', '2017', 'val.txt')).read() == \
        'val_000\n'
    assert sorted(os.listdir(osp.join(rendered, 'JPEGImages', '480p',
                                      'test_000'))) == [
        f'{t:05d}.jpg' for t in range(6)]
    info = json.load(open(osp.join(rendered, 'render_info.json')))
    assert set(info['splits']) == {'val', 'test'}
    assert osp.isfile(osp.join(rendered, 'Correspondences', 'val_000.npz'))


def test_random_init_table_and_json(rendered, lp, tmp_path):
    out = str(tmp_path / 'out' / 'lp.json')
    res = lp.run(rendered, f'rand={CONFIG}', 'rand2=' + CONFIG, '--split', 'val',
                 '--out', out)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'device: cpu' in res.stdout and 'label propagation' in res.stderr
    data = json.load(open(out))
    assert list(data) == ['rand', 'rand2']
    r = data['rand']
    assert r['settings'] == dict(topk=10, radius=12.0, n_context=20,
                                 temperature=0.05)
    assert 0.0 <= r['mean']['J&F'] <= 1.0 and r['mean']['objects'] >= 1
    assert set(r['points']) == {'all', 'foreground', 'near_boundary',
                                'reappearing'}
    assert r['mean'] == data['rand2']['mean']  # same seed, same network
    assert 0.0 < r['points']['all']['chance'] < 0.5
    assert 'rand ' in res.stdout and 'J&F' in res.stdout and 'chance' in res.stdout
    assert not [f for f in os.listdir(tmp_path / 'out') if f != 'lp.json']


def test_errors_are_one_line(rendered, lp, tmp_path):
    res = lp.run(str(tmp_path), CONFIG)
    assert res.returncode == 1
    assert res.stderr.strip().startswith('error: ') and \
        'ImageSets/2017/val.txt: missing' in res.stderr
    os.remove(osp.join(rendered, 'Annotations', '480p', 'test_000', '00003.png'))
    res = lp.run(rendered, CONFIG, '--split', 'test')
    assert res.returncode == 1 and '00003.png: missing annotation' in res.stderr
    with pytest.raises(SystemExit) as e:
        lp.module.parse_args([rendered, str(tmp_path / 'nope.pth')])
    assert e.value.code == 2
