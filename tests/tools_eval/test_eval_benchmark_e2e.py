"""tools/benchmark.py end to end: PiCo checkpoint → pico2mm.py export →
tools/train.py → tools/test.py (each a subprocess, the real mmseg Runner) on
a tiny Cityscapes → results.json → table with the paper's rows."""
import glob
import json
import os.path as osp

import pico_eval_tiny_data as tiny  # tests/_helpers
from pico_mm.utils.benchmark_table import fmt

bench = tiny.load_tool('tools/benchmark.py')

TINY = [  # ResNet-18 + small PiCo neck, 64 px images, 2 iterations
    'model.backbone.backbone.depth=18',
    'model.backbone.neck.in_channels=[64,128,256,512]',
    'model.backbone.neck.fpn_channels=32',
    'model.backbone.neck.decoder_channels=32',
    'model.backbone.neck.out_channels=16',
    'model.backbone.neck.norm_cfg.num_groups=8',
    'model.decode_head.in_channels=16', 'model.data_preprocessor.size=(32,32)',
    'train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=0',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=0',
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=0',
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(32,32)',
    'val_dataloader.dataset.pipeline.1.scale=(64,64)',
    'test_dataloader.dataset.pipeline.1.scale=(64,64)',
    'env_cfg.mp_cfg.opencv_num_threads=1'
]


def test_benchmark_cli_runs_cityscapes_and_prints_table(tmp_path, capfd):
    ckpt = str(tmp_path / 'pico_epoch_1.pth')
    tiny.make_pico_checkpoint(ckpt)
    cs = tiny.make_cityscapes(str(tmp_path / 'cityscapes'))
    work = str(tmp_path / 'bench')
    rc = bench.main([ckpt, '--benchmarks', 'cityscapes', '--work-dir', work,
                     '--data-root', f'cityscapes={cs}', '--gpus', '1',
                     '--auto-scale-lr', '--cfg-options'] + TINY)
    out, err = capfd.readouterr()
    print(out, err)
    assert rc == 0
    results = json.load(open(osp.join(work, 'results.json')))
    metrics = results['PiCo']['cityscapes']
    assert {'mIoU', 'fIoU'} <= set(metrics)
    assert metrics == json.load(open(osp.join(work, 'cityscapes',
                                              'metrics.json')))
    row = [[c.strip() for c in ln.split('|')] for ln in out.splitlines()
           if ln.startswith('PiCo ') and '| this run' in ln]
    assert len(row) == 1 and row[0][3] == fmt(metrics['mIoU'])  # CS mIoU
    assert 'CS mIoU' in out and 'ok 1, failed 0' in out
    assert 'PiCo (paper)' in out and '35.1' in out  # paper row beside ours
    # 1 GPU x batch 2 instead of the name's 4xb2: loud warning, lr x 2/8
    assert 'WARNING: cityscapes trains with a total batch of 2' in err
    logs = glob.glob(osp.join(work, 'cityscapes', '*', '*.log'))
    assert any('Scaling the original LR by 0.25' in open(p).read()
               for p in logs), logs
    # the steps ran as the printed commands: export, train.py, test.py
    for name in ('export/mmseg.pth', 'cityscapes/iter_2.pth'):
        assert osp.isfile(osp.join(work, name)), name
    assert 'tools/train.py' in out and 'tools/test.py' in out
