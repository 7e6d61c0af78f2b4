"""tools/analysis/prereg_experiment.py: every stage's command line is wired."""
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
sys.path.insert(0, osp.join(ROOT, 'tests', 'demo'))

import prereg_experiment as tool  # noqa: E402
from test_prereg import _run  # noqa: E402


def test_run_stage_parses_every_option():
    a = tool.parse_args(['run', 'W', '--tag', 't', '--encoder', 'e2', '--split',
                         'test', '--seeds', '0', '1', '--iters', '300', '--view',
                         '64', '--queue', '1024', '--head', '512', '--secondary',
                         '--no-label-propagation', '--lr', '0.005',
                         '--keep-every', '50', '--threads', '1'])
    assert (a.stage, a.encoder, a.split, a.seeds) == ('run', 'e2', 'test', [0, 1])
    assert a.secondary and a.no_label_propagation
    assert (a.lr, a.keep_every, a.threads) == (0.005, 50, 1)
    b = tool.parse_args(['run', 'W', '--tag', 't', '--encoder', 'e1', '--split',
                         'val', '--seeds', '100', '--iters', '300', '--view',
                         '96', '--queue', '4096', '--head', '128'])
    assert not b.secondary and not b.no_label_propagation and b.lr is None
    x = tool.parse_args(['explore', 'W', '--encoder', 'e1'])
    assert x.stage == 'explore' and x.tag is None and x.split == 'val'


def test_pilot_and_analyze_stages_end_to_end(tmp_path, capsys):
    for tag, gain in (('p1', 0.02), ('p2', 0.05)):
        d = tmp_path / 'runs' / tag
        d.mkdir(parents=True)
        for s in (100, 101):
            r = _run(s, {'init': 0.1, 'Static(Frame)': 0.1 + gain,
                         'Static(Video)': 0.1, 'PiCo': 0.1 + gain,
                         'PiCo-oracle': 0.1 + gain})
            r['settings'] = dict(iters=300, view=64, queue=1024, head=512, batch=8)
            (d / f'seed_{s}.json').write_text(json.dumps(r))
    assert tool.main(['pilot', str(tmp_path), '--tags', 'p1', 'p2']) == 0
    out = capsys.readouterr().out
    assert 'device: cpu' in out and 'Chosen: **p2**' in out
    pilot = json.load(open(tmp_path / 'runs' / 'pilot.json'))
    assert pilot['chosen'] == 'p2' and abs(pilot['delta'] - 0.0125) < 1e-9
    assert tool.main(['analyze', str(tmp_path), '--tag', 'p2', '--delta',
                      '0.0125']) == 0
    out = capsys.readouterr().out
    assert 'decision: ' in out
    assert osp.isfile(tmp_path / 'runs' / 'p2' / 'analysis.json')


def test_a_stage_run_too_early_is_one_line_naming_the_stage(tmp_path):
    import pytest
    ws = str(tmp_path)
    with pytest.raises(SystemExit, match=r'data.json not found; run '
                       r'`tools/analysis/prereg_experiment.py data '):
        tool.main(['run', ws, '--tag', 't', '--encoder', 'e1', '--split', 'val',
                   '--seeds', '0', '--iters', '1', '--view', '64', '--queue',
                   '1024', '--head', '128'])
    with pytest.raises(SystemExit, match='data.json not found'):
        tool.main(['encoders', ws])
    with pytest.raises(SystemExit, match=r'runs/t: no finished seeds'):
        tool.main(['analyze', ws, '--tag', 't', '--delta', '0.01'])
    (tmp_path / 'data.json').write_text('{}')
    with pytest.raises(SystemExit, match=r"no encoder 'e1'; run "):
        tool.main(['run', ws, '--tag', 't', '--encoder', 'e1', '--split', 'val',
                   '--seeds', '0', '--iters', '1', '--view', '64', '--queue',
                   '1024', '--head', '128'])
