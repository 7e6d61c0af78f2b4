"""tools/analysis/pair_homography.py on tiny translating videos: pairs on one
homography (0 off) for PiCo's and Static(Frame)'s samplers, table, JSON, errors."""
import json
import os.path as osp
import sys

import pytest

from pico_test_tools import ToolRunner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tests', 'datasets'))
import pico_data_fixtures as F  # noqa: E402

CONFIG = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
TOOL = osp.join(ROOT, 'tools', 'analysis', 'pair_homography.py')


@pytest.fixture(scope='module')
def tool():
    return ToolRunner(TOOL, 'pico_pair_homography_tool')


def test_translating_videos_give_crop_like_pairs(tool, tmp_path):
    vs = F.make_video_set(str(tmp_path / 'vids'), 'video')
    out = str(tmp_path / 'res' / 'h.json')
    res = tool.run(CONFIG, '--samplers', 'anchor', 'static_frame', '--samples',
                   '12', '--json', out, '--cfg-options',
                   'train_dataloader.dataset.data_root=',
                   f'train_dataloader.dataset.ann_file={vs["list"]}',
                   f'train_dataloader.dataset.data_prefix.video={vs["videos"]}',
                   f'train_dataloader.dataset.data_prefix.tracks={vs["tracks"]}')
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'anchor' in res.stderr  # progress bar
    assert 'device: cpu' in res.stdout and 'pooled' in res.stdout
    data = json.load(open(out))
    for sampler in ('anchor', 'static_frame'):
        r = data['samplers'][sampler]
        assert r['samples'] == 12 and r['used'] >= 8, r
        # a translation seen through two crops/flips/zooms is one homography
        assert r['pooled'] == 0.0 and r['mean'] == 0.0 and r['median'] == 0.0
        assert r['pairs_per_sample'] >= 8
    assert data['cell'] == 4.0
    line = [ln for ln in res.stdout.splitlines() if ln.startswith('anchor')]
    assert len(line) == 1 and line[0].split()[-1] == '0.000'


def test_bad_arguments_are_one_line(tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        tool.module.main([str(tmp_path / 'missing.py')])
    assert e.value.code == 2 and 'not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.module.main([CONFIG, '--min-pairs', '3'])
    assert '--min-pairs >= 4' in capsys.readouterr().err
    res = tool.run(CONFIG, '--samples', '1', '--cfg-options',
                   f'train_dataloader.dataset.ann_file={tmp_path}/none.txt')
    assert res.returncode == 2 and res.stderr.startswith('error: ')
    assert 'Traceback' not in res.stderr


def test_rendered_oracle_pairs_are_not_one_homography(tool, tmp_path):
    """PiCo-oracle pairs of a rendered clip (camera + independent objects)."""
    out = str(tmp_path / 'h.json')
    res = tool.run(CONFIG, '--rendered-oracle', str(tmp_path / 'orc'), '--clips',
                   '1', '--seeds', '800', '--samples', '10', '--samplers',
                   'anchor', 'static_frame', '--json', out)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'render + oracle tracks' in res.stderr
    assert osp.isfile(tmp_path / 'orc' / 'tracks' / 'train_000.npz')
    data = json.load(open(out))
    assert data['rendered_oracle']['clips'] == 1
    anchor, static = data['samplers']['anchor'], data['samplers']['static_frame']
    assert anchor['used'] >= 5 and static['used'] >= 5
    assert anchor['pooled'] > 0.02 and static['pooled'] == 0.0
