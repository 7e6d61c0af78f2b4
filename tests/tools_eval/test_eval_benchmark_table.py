"""tools/benchmark.py: table layout, config edits, CLI errors."""
import json
import os.path as osp

from mmengine.config import Config

import pico_eval_tiny_data as tiny  # tests/_helpers

bench = tiny.load_tool('tools/benchmark.py')

RESULTS = {
    'PiCo': {'coco': {'mIoU': 41.23, 'fIoU': 60.5, 'aAcc': 70.0},
             'maskrcnn': {'coco/bbox_mAP': 0.301, 'coco/bbox_mAP_50': 0.5,
                          'coco/bbox_mAP_75': 0.31, 'coco/segm_mAP': 0.28,
                          'coco/segm_mAP_50': 0.47, 'coco/segm_mAP_75': 0.29},
             'voc': {'mIoU': 55.0}, 'nyu': {'rmse': 0.8123}},
    'MoCo-v2': {'coco': {'mIoU': 30.0, 'fIoU': 50.0}},
}


def test_table_has_paper_layout_and_reference_columns():
    text = bench.format_table(RESULTS)
    lines = text.splitlines()
    cells = [[c.strip() for c in ln.split('|')] for ln in lines]
    assert [c for c in cells if c[:2] == ['Method', 'Dataset']][0] == [
        'Method', 'Dataset', 'mIoU', 'fIoU', 'paper mIoU', 'paper fIoU']
    pico = [ln for ln in lines if ln.startswith('PiCo ')]
    assert '41.23' in pico[0] and '60.50' in pico[0]
    det = [ln for ln in lines if 'AP^bb' in ln][0]
    assert [c.strip() for c in det.split('|')][1:] == [
        'AP^bb', 'AP^bb_50', 'AP^bb_75', 'AP^mk', 'AP^mk_50', 'AP^mk_75']
    assert '30.10' in text  # mmdet's 0.301 shown in percent
    transfer = [ln for ln in lines if ln.startswith('PiCo ') and '55.00' in ln]
    assert transfer and '0.812' in transfer[0] and ' - ' in transfer[0]
    assert 'n/a' in text  # unverified paper numbers are marked, not invented


def test_paper_dict_never_holds_unverified_numbers():
    for method in bench.PAPER.values():
        for bench_vals in method.values():
            assert all(v == bench.NA or isinstance(v, float)
                       for v in bench_vals.values())


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
    assert det.load_from == 'b.pth'


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


def test_paper_numbers_from_a_user_file(tmp_path, capsys):
    results = tmp_path / 'results.json'
    results.write_text(json.dumps(RESULTS))
    paper = tmp_path / 'paper.json'
    paper.write_text(json.dumps({'PiCo': {'coco': {'mIoU': 12.34},
                                          'nyu': {'rmse': 0.987}}}))
    assert bench.main(['--results', str(results), '--paper', str(paper)]) == 0
    lines = capsys.readouterr().out.splitlines()
    coco = [ln for ln in lines if ln.startswith('PiCo ') and '41.23' in ln][0]
    cells = [c.strip() for c in coco.split('|')]
    assert cells[-2:] == ['12.34', 'n/a']       # given mIoU, fIoU still n/a
    transfer = [ln for ln in lines if ln.startswith('PiCo ') and '55.00' in ln]
    assert [c.strip() for c in transfer[0].split('|')][-1] == '0.987'
    assert bench.PAPER['PiCo']['coco']['mIoU'] == 'n/a'  # built-in untouched
    for bad, word in [({'SimCLR': {}}, "'SimCLR'"),
                      ({'PiCo': {'ade': {}}}, "'ade'"),
                      ({'PiCo': {'coco': {'mAcc': 1}}}, "'mAcc'")]:
        paper.write_text(json.dumps(bad))
        assert bench.main(['--results', str(results), '--paper',
                           str(paper)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(paper) in err[0] and word in err[0]
    paper.write_text('{not json')
    assert bench.main(['--results', str(results), '--paper', str(paper)]) == 1
    assert 'cannot read paper numbers' in capsys.readouterr().err
