"""tools/benchmark.py end to end: PiCo checkpoint → export → Cityscapes
probe in a subprocess through the real mmseg Runner → results.json →
table."""
import json
import os.path as osp

import pico_eval_tiny_data as tiny  # tests/_helpers

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
    'env_cfg.mp_cfg.opencv_num_threads=1'
]


def test_benchmark_cli_runs_cityscapes_and_prints_table(tmp_path, capsys):
    ckpt = str(tmp_path / 'pico_epoch_1.pth')
    tiny.make_pico_checkpoint(ckpt)
    cs = tiny.make_cityscapes(str(tmp_path / 'cityscapes'))
    work = str(tmp_path / 'bench')
    rc = bench.main([ckpt, '--benchmarks', 'cityscapes', '--work-dir', work,
                     '--data-root', f'cityscapes={cs}', '--cfg-options'] +
                    TINY)
    out = capsys.readouterr().out
    print(out)
    assert rc == 0
    results = json.load(open(osp.join(work, 'results.json')))
    metrics = results['PiCo']['cityscapes']
    assert {'mIoU', 'fIoU'} <= set(metrics)
    row = [ln for ln in out.splitlines() if ln.startswith('PiCo ')]
    assert row and f'{metrics["mIoU"]:.2f}' in row[-1]
    assert 'CS mIoU' in out and 'ok 1, failed 0' in out
    assert osp.isfile(osp.join(work, 'export', 'mmseg.pth'))
