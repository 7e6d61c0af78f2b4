"""tools/benchmark.py: the paper's numbers, table layout, config edits, the
multi-GPU commands of --dry-run, the batch warning and CLI errors."""
import glob
import json
import os.path as osp
import re
import shlex

import pytest
from mmengine.config import Config

import pico_eval_tiny_data as tiny  # tests/_helpers

bench = tiny.load_tool('tools/benchmark.py')
NOTES = osp.join(tiny.REPO, '..', 'shared', 'notes', 'paper_tables.md')

RESULTS = {
    'PiCo': {'coco': {'mIoU': 41.23, 'fIoU': 60.5, 'aAcc': 70.0},
             'maskrcnn': {'coco/bbox_mAP': 0.301, 'coco/bbox_mAP_50': 0.5,
                          'coco/bbox_mAP_75': 0.31, 'coco/segm_mAP': 0.28,
                          'coco/segm_mAP_50': 0.47, 'coco/segm_mAP_75': 0.29},
             'voc': {'mIoU': 55.0}, 'nyu': {'rmse': 0.8123}},
    'MoCo-v2': {'coco': {'mIoU': 30.0, 'fIoU': 50.0},
                'maskrcnn': {'coco/bbox_mAP': 0.2}},
}
# notes column -> (benchmark, metric) in PAPER
COLUMNS = {'mIoU': ('coco', 'mIoU'), 'fIoU': ('coco', 'fIoU'),
           'AP^bb': ('maskrcnn', 'bbox_mAP'),
           'AP^bb_50': ('maskrcnn', 'bbox_mAP_50'),
           'AP^bb_75': ('maskrcnn', 'bbox_mAP_75'),
           'AP^mk': ('maskrcnn', 'segm_mAP'),
           'AP^mk_50': ('maskrcnn', 'segm_mAP_50'),
           'AP^mk_75': ('maskrcnn', 'segm_mAP_75'),
           'VOC mIoU': ('voc', 'mIoU'),
           'Cityscapes mIoU': ('cityscapes', 'mIoU'),
           'NYU-depth v2 RMSE': ('nyu', 'rmse')}


def parse_notes(text):
    """The notes' Tables 1-3 in PAPER's layout."""
    out = {}
    for section in re.split(r'^## ', text, flags=re.M)[1:]:
        title = section.splitlines()[0]
        if not title.startswith('Table'):
            continue
        rows = [[c.strip() for c in ln.strip().strip('|').split('|')]
                for ln in section.splitlines() if ln.startswith('|')]
        header, body = rows[0], [r for r in rows[2:]]
        for r in body:
            cells = dict(zip(header, r))
            data = cells.get('Pre-train data')
            if data is None:
                assert 'K400' in title, title  # Table 3: K400 only
                data = 'K400'
            entry = out.setdefault((cells['Method'], data), {})
            for col, val in cells.items():
                if col in COLUMNS:
                    b, k = COLUMNS[col]
                    entry.setdefault(b, {})[k] = val
    return out


def test_paper_numbers_are_filled_in():
    # a few cells, checked by hand against the paper's tables
    assert bench.PAPER[('PiCo', 'K400')]['coco'] == dict(mIoU='20.9',
                                                       fIoU='51.6')
    assert bench.PAPER[('MoCo-v2', 'IN-1K')]['coco']['fIoU'] == '39.9'
    assert bench.PAPER[('PiCo', 'K400')]['maskrcnn']['segm_mAP_75'] == '10.9'
    assert bench.PAPER[('Static (Video)', 'K400')]['nyu']['rmse'] == '0.958'
    assert bench.PAPER[('PiCo', 'YT8M-S')]['coco']['mIoU'] == '19.9'
    # not printed in the paper -> absent (shown as "–"), never invented
    assert 'maskrcnn' not in bench.PAPER[('MoCo-v2', 'IN-1K')]
    assert set(bench.PAPER[('PiCo', 'YT8M-S')]) == {'coco'}


@pytest.mark.skipif(not osp.isfile(NOTES), reason='../shared/notes absent '
                    '(fresh clone outside the shared workspace)')
def test_paper_dict_equals_the_notes_file():
    with open(NOTES) as f:
        notes = parse_notes(f.read())
    assert len(notes) == 7 and notes[('PiCo', 'K400')]['voc']['mIoU'] == \
        '35.6'
    assert notes == bench.PAPER


def _rows(text, title_word):
    block = text.split('\n\n')
    table = [b for b in block if title_word in b.splitlines()[0]][0]
    return [[c.strip() for c in ln.split('|')] for ln in table.splitlines()[1:]]


def test_table_has_paper_layout_and_the_paper_rows():
    text = bench.format_table(RESULTS)
    coco = _rows(text, 'Table 1')
    assert coco[0] == ['Method', 'Pre-train', 'mIoU', 'fIoU']
    assert coco[1] == ['PiCo', 'this run', '41.23', '60.50']
    assert ['PiCo (paper)', 'K400', '20.9', '51.6'] in coco
    assert ['MoCo-v2 (paper)', 'IN-1K', '11.2', '39.9'] in coco
    assert len(coco) == 1 + 2 + 7  # header, your 2 rows, 7 paper rows
    det = _rows(text, 'Table 2')
    assert det[0][2:] == ['AP^bb', 'AP^bb_50', 'AP^bb_75', 'AP^mk',
                          'AP^mk_50', 'AP^mk_75']
    assert det[1][:3] == ['PiCo', 'this run', '30.10']  # mmdet 0.301 in %
    assert ['PiCo (paper)', 'K400', '10.8', '24.3', '7.94', '11.9', '23.1',
            '10.9'] in det
    # your MoCo-v2 row gets its paper row, all "–" (Table 2 prints none)
    assert ['MoCo-v2 (paper)', 'IN-1K'] + ['–'] * 6 in det
    assert not any('YT8M-S' in r for r in det)
    transfer = _rows(text, 'Table 3')
    assert transfer[1] == ['PiCo', 'this run', '55.00', '–', '0.812']
    assert ['Static (Frame) (paper)', 'K400', '31.0', '34.0', '1.000'] in \
        transfer
    reference = bench.format_table({})  # what --dry-run prints
    assert '20.9' in reference and 'this run' not in reference


def test_every_benchmark_config_names_its_scale_and_lr_batch():
    configs = glob.glob(osp.join(tiny.REPO, 'configs', 'benchmarks', 'mm*',
                                 '*.py'))
    assert len(configs) == 10
    for path in configs:
        gpus, per_gpu = bench.name_scale(path)
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert cfg.train_dataloader.batch_size == per_gpu, path
        assert cfg.auto_scale_lr == dict(enable=False,
                                         base_batch_size=gpus * per_gpu), path
    assert bench.name_scale('mask-rcnn_r50_fpn_1x_coco.py') is None


def test_set_data_root_and_checkpoint_edit_every_loader():
    cfg = Config.fromfile(osp.join(tiny.REPO,
                                   bench.BENCHMARKS['voc']['pico']))
    bench.set_data_root(cfg, '/x/VOC2012')
    roots = [d['data_root'] for d in
             tiny.iter_datasets(cfg.train_dataloader.dataset)]
    assert roots == ['/x/VOC2012', '/x/VOC2012']
    assert cfg.val_dataloader.dataset.data_root == '/x/VOC2012'
    bench.set_checkpoint(cfg, 'seg', 'a.pth')
    assert cfg.model.backbone.checkpoint == 'a.pth'
    det = Config.fromfile(osp.join(tiny.REPO,
                                   bench.BENCHMARKS['maskrcnn']['pico']))
    bench.set_data_root(det, '/c')
    assert det.val_evaluator.ann_file == '/c/annotations/' \
        'instances_val2017.json'
    bench.set_checkpoint(det, 'det', 'b.pth')
    assert det.model.frozen_checkpoint == 'b.pth' and det.load_from is None


def _dry_run(capsys, *extra):
    rc = bench.main(['no/such/epoch_100.pth', '--dry-run', '--work-dir',
                     'w', *extra])
    out = capsys.readouterr().out
    assert rc == 0, out
    cmds = [shlex.split(ln) for ln in out.splitlines()
            if ln and not ln.startswith('#') and 'tools/' in ln
            and '|' not in ln]
    return out, cmds


def test_dry_run_prints_multi_gpu_commands_and_reference_table(capsys):
    out, cmds = _dry_run(capsys, '--benchmarks', 'all')
    assert 'WARNING' not in out  # every run at its named scale
    train = {c[c.index('--work-dir') + 1]: c for c in cmds
             if any(a.endswith('tools/train.py') for a in c)}
    assert sorted(train) == [f'w/{b}' for b in sorted(bench.BENCHMARKS)]
    for work, cmd in train.items():
        nproc = 8 if work == 'w/maskrcnn' else 4
        assert cmd[1:5] == ['-m', 'torch.distributed.run',
                            f'--nproc_per_node={nproc}', '--master_port=29500']
        assert '--launcher' in cmd and 'pytorch' in cmd
        assert '--auto-scale-lr' not in cmd
    det = train['w/maskrcnn']
    assert 'model.frozen_checkpoint=w/export/mmdet.pth' in det
    test = [c for c in cmds if any(a.endswith('tools/test.py') for a in c)]
    assert len(test) == 5
    cs = [c for c in test if 'w/cityscapes' in c][0]
    assert 'w/cityscapes/iter_40000.pth' in cs and 'w/cityscapes/metrics.' \
        'json' in cs
    assert 'w/maskrcnn/epoch_12.pth' in [c for c in test if 'w/maskrcnn'
                                         in c][0]
    assert any(c[1].endswith('pico2mm.py') and c[-1] == 'mmdet'
               for c in cmds)
    assert 'PiCo (paper)' in out and '10.8' in out and '0.950' in out
    # the printed commands are accepted by the tools they call
    train_py = tiny.load_tool('tools/train.py')
    test_py = tiny.load_tool('tools/test.py')
    i = [k for k, a in enumerate(det) if a.endswith('tools/train.py')][0]
    args = train_py.parse_args(det[i + 1:])
    assert args.launcher == 'pytorch' and args.cfg_options[
        'model.frozen_checkpoint'] == 'w/export/mmdet.pth'
    i = [k for k, a in enumerate(cs) if a.endswith('tools/test.py')][0]
    assert test_py.parse_args(cs[i + 1:]).out == 'w/cityscapes/metrics.json'


def test_other_gpu_count_warns_loudly_and_scales_lr_only_when_asked(capsys):
    out, cmds = _dry_run(capsys, '--benchmarks', 'cityscapes', '--gpus', '1')
    assert '# WARNING: cityscapes trains with a total batch of 2 (1 GPU(s) ' \
        'x 2 images), but linear_pico_r50_4xb2-40k_cityscapes-512x1024.py ' \
        'is 4xb2 = 8.' in out
    assert 'used as written' in out and '!' * 78 in out
    train = [c for c in cmds if any(a.endswith('train.py') for a in c)][0]
    assert 'torch.distributed.run' not in train and '--launcher' not in train
    assert '--auto-scale-lr' not in train
    out, cmds = _dry_run(capsys, '--benchmarks', 'cityscapes', '--gpus', '1',
                         '--auto-scale-lr')
    assert 'the lr 0.01 is scaled by 2/8' in out
    train = [c for c in cmds if any(a.endswith('train.py') for a in c)][0]
    assert '--auto-scale-lr' in train
    # a --cfg-options batch change is seen too
    out, _ = _dry_run(capsys, '--benchmarks', 'voc', '--cfg-options',
                      'train_dataloader.batch_size=2')
    assert 'total batch of 8 (4 GPU(s) x 2 images)' in out


def test_cli_results_and_errors(tmp_path, capsys):
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(RESULTS))
    assert bench.main(['--results', str(path)]) == 0
    assert 'AP^mk_75' in capsys.readouterr().out
    assert bench.main(['--results', str(tmp_path / 'none.json')]) == 1
    assert bench.main([str(tmp_path / 'none.pth'), '--work-dir',
                       str(tmp_path / 'w')]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and 'none.pth: no such file' in err[1]
    assert bench.main([str(tmp_path / 'none.pth'), '--dry-run',
                       '--data-root', 'ade=x']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'ade=x'" in err[0]


def test_needs_the_gpus_it_asks_for(tmp_path, capsys):
    ckpt = str(tmp_path / 'pico.pth')
    tiny.make_pico_checkpoint(ckpt)
    import torch
    if torch.cuda.device_count() >= 4:
        pytest.skip('this machine has the GPUs')
    assert bench.main([ckpt, '--benchmarks', 'voc', '--work-dir',
                       str(tmp_path / 'w')]) == 1
    # (only `error:` lines: an mmengine logger of an earlier test in this
    # process may complain here about its closed capture stream)
    err = [ln for ln in capsys.readouterr().err.splitlines()
           if ln.startswith('error:')]
    assert len(err) == 1 and 'need 4 GPUs' in err[0] and '--gpus' in err[0]
    assert not osp.exists(tmp_path / 'w' / 'export')
