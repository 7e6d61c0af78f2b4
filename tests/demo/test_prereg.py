"""The pre-registered experiment's driver: arm configs and the registered analysis."""
import json
import os.path as osp

import pytest

from pico_mm.demo import prereg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(ROOT, 'configs', 'pico', 'pico_r18-fpn_tiny_cpu.py')
INFO = dict(train_list='/d/list.txt', video_root='/d/src', tracks='/d/tracks',
            tracks_oracle='/d/tracks_oracle')


def test_arm_overrides_set_the_grid_point_and_freeze_the_encoder():
    common = prereg.arm_overrides(INFO, prereg.Setting(300, 96, 4096, 512), 3,
                                  '/enc.pth', BASE)
    m = common['model']
    assert m['freeze_backbone'] is True and m['backbone_checkpoint'] == '/enc.pth'
    assert m['queue_len'] == 4096 and m['head'] == dict(hid_channels=512)
    ds = common['train_dataloader']['dataset']
    crops = [t for t in ds['pipeline'][0]['transforms']
             if t['type'] == 'PointRandomResizedCrop']
    assert [c['size'] for c in crops] == [96]
    assert common['train_cfg']['max_iters'] == 300
    assert common['randomness'] == dict(seed=3)
    assert ds['data_prefix']['tracks'] == '/d/tracks'
    oracle = prereg._with_tracks(common, INFO['tracks_oracle'])
    assert oracle['train_dataloader']['dataset']['data_prefix'] == dict(
        video='/d/src', tracks='/d/tracks_oracle')
    # the shared overrides are not changed by the oracle arm's copy
    assert ds['data_prefix']['tracks'] == '/d/tracks'


def _run(seed, accs, clips=('a', 'b', 'c')):
    """A finished seed: per arm an accuracy spread evenly over ``clips``."""
    res = {}
    for arm, acc in accs.items():
        n = 1000
        per = {c: (round(acc * n), n) for c in clips}
        res[arm] = dict(video_pck=dict(acc=acc, chance=0.001, zero_motion=0.0,
                                       points=n * len(clips),
                                       clips={c: dict(hits=h, points=p)
                                              for c, (h, p) in per.items()}))
    return dict(seed=seed, results=res, settings=dict(iters=1),
                seconds={'PiCo': 1.0, 'scoring': 1.0})


@pytest.mark.parametrize('pico,oracle,expected', [
    (0.30, 0.30, 'PiCo helps'),
    (0.20, 0.30, 'mechanism holds, tracks are the bottleneck'),
    (0.20, 0.20, 'refuted at this scale'),
    (0.10, 0.20, 'PiCo hurts'),
])
def test_analyze_applies_the_registered_rule(tmp_path, pico, oracle, expected):
    tag_dir = tmp_path / 'runs' / 't'
    tag_dir.mkdir(parents=True)
    for seed in range(6):
        wobble = 0.001 * (seed % 3 - 1)  # small seed noise, same in every arm
        accs = {'init': 0.05 + wobble, 'Static(Frame)': 0.20 + wobble,
                'Static(Video)': 0.15 + wobble,
                'PiCo': pico + wobble + 0.0005 * (seed % 2),
                'PiCo-oracle': oracle + wobble - 0.0005 * (seed % 2)}
        (tag_dir / f'seed_{seed}.json').write_text(json.dumps(_run(seed, accs)))
    res = prereg.analyze(str(tmp_path), 't', delta=0.01)
    assert res['decision'] == expected
    assert res['seeds'] == list(range(6))
    assert res['table']['init']['mean'] == pytest.approx(0.05)
    assert osp.isfile(tag_dir / 'analysis.json')
    assert 'decision: ' + expected in prereg.format_analysis(res)


def test_no_answer_without_the_precondition(tmp_path):
    tag_dir = tmp_path / 'runs' / 't'
    tag_dir.mkdir(parents=True)
    for seed in range(3):
        accs = {a: 0.05 + 0.01 * ((seed + i) % 3)
                for i, a in enumerate(prereg.ARM_ORDER)}
        (tag_dir / f'seed_{seed}.json').write_text(json.dumps(_run(seed, accs)))
    res = prereg.analyze(str(tmp_path), 't', delta=0.01)
    assert res['decision'].startswith('no answer at this scale')


def test_pilot_summary_gain_and_margin():
    runs = [_run(s, {'init': 0.1, 'Static(Frame)': 0.3, 'Static(Video)': 0.2,
                     'PiCo': 0.25, 'PiCo-oracle': 0.25}) for s in (100, 101)]
    p = prereg.pilot_summary(runs)
    assert p['G'] == pytest.approx(0.2)
    assert p['mean_gain'] == pytest.approx((0.2 + 0.1 + 0.15 + 0.15) / 4)


def test_missing_runs_name_the_folder(tmp_path):
    (tmp_path / 'runs' / 'x').mkdir(parents=True)
    with pytest.raises(SystemExit, match='no finished seeds'):
        prereg.load_runs(str(tmp_path), 'x')


def test_pilot_rule_picks_the_largest_gain_that_fits(tmp_path):
    def write(tag, gain, secs):
        d = tmp_path / 'runs' / tag
        d.mkdir(parents=True)
        for s in (100, 101):
            r = _run(s, {'init': 0.1, 'Static(Frame)': 0.1 + gain,
                         'Static(Video)': 0.1 + gain, 'PiCo': 0.1 + gain,
                         'PiCo-oracle': 0.1 + gain})
            r['seconds'] = {'PiCo': secs, 'scoring': 20.0}
            r['settings'] = dict(iters=300, view=64, queue=1024, head=512, batch=8)
            (d / f'seed_{s}.json').write_text(json.dumps(r))
    write('cheap', 0.05, 60.0)
    write('better', 0.08, 120.0)
    write('too_dear', 0.20, 300.0)  # 12*4*300/2/60 = 120 min > 75
    res = prereg.pilot_log(str(tmp_path), ['cheap', 'better', 'too_dear'])
    assert not res['rows']['too_dear']['fits']
    assert res['chosen'] == 'better'
    assert res['delta'] == pytest.approx(max(0.01, 0.25 * 0.08))
    assert '| better | 300 | 64 | 1024 | 512 |' in res['text']
    write('same_gain_cheaper', 0.08, 30.0)
    res = prereg.pilot_log(str(tmp_path), ['better', 'same_gain_cheaper'])
    assert res['chosen'] == 'same_gain_cheaper'
