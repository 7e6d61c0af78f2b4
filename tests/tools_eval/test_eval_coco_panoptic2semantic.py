"""COCO panoptic → 54-class semantic PNGs (tools/dataset_converters)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

import pico_eval_tiny_data as tiny  # tests/_helpers

conv = tiny.load_tool('tools/dataset_converters/coco_panoptic2semantic.py')

CATS = [
    dict(id=1, name='person', isthing=1),
    dict(id=3, name='car', isthing=1),
    dict(id=200, name='rug-merged', isthing=0),
    dict(id=92, name='banner', isthing=0),
    dict(id=184, name='tree-merged', isthing=0),
]


def test_mapping_things_merged_stuff_sorted_by_id():
    cat2label, names = conv.build_mapping(CATS)
    assert names == ['things', 'banner', 'tree-merged', 'rug-merged']
    assert cat2label == {1: 0, 3: 0, 92: 1, 184: 2, 200: 3}


def test_full_coco_category_list_gives_54_classes_matching_config():
    """The config's class tuple equals what the converter derives from
    COCO's 133 panoptic categories (80 things, 53 stuff, by id)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(
        tiny.REPO, 'configs/benchmarks/mmseg/_base_/datasets/'
        'coco_panoptic_semseg54.py'))
    stuff = list(cfg.classes[1:])
    # Stuff ids of COCO panoptic in id order (92..200, 53 of them).
    ids = [92, 93, 95, 100, 107, 109, 112, 118, 119, 122, 125, 128, 130, 133,
           138, 141, 144, 145, 147, 148, 149, 151, 154, 155, 156, 159, 161,
           166, 168, 171, 175, 176, 177, 178, 180, 181, 184, 185, 186, 187,
           188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200]
    cats = [dict(id=i, name=f'thing{i}', isthing=1) for i in range(1, 81)]
    cats += [dict(id=i, name=n, isthing=0) for i, n in
             zip(reversed(ids), reversed(stuff))]  # JSON order must not matter
    cat2label, names = conv.build_mapping(cats)
    assert len(names) == 54 and tuple(names) == tuple(cfg.classes)
    assert sorted(set(cat2label.values())) == list(range(54))


def test_hand_made_png_converts_exactly(tmp_path):
    # 2x3 panoptic PNG: ids 0 (void), 5 (person), 70000 (banner), 258 (car),
    # 1000 (tree). RGB encoding id = R + 256 G + 65536 B.
    ids = np.array([[0, 5, 70000], [258, 1000, 5]])
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1)
    segs = [dict(id=5, category_id=1), dict(id=70000, category_id=92),
            dict(id=258, category_id=3), dict(id=1000, category_id=184)]
    cat2label, _ = conv.build_mapping(CATS)
    sem = conv.panoptic_to_semantic(rgb.astype(np.uint8), segs, cat2label)
    assert sem.tolist() == [[255, 0, 1], [0, 2, 0]]
    assert conv.rgb_to_id(rgb.astype(np.uint8)).tolist() == ids.tolist()


def test_cli_converts_resumes_and_skips_bad_png(tmp_path, capsys):
    root = tiny.make_coco_panoptic(str(tmp_path / 'coco'), n_train=3, n_val=1)
    ann = json.load(open(osp.join(root, 'annotations',
                                  'panoptic_train2017.json')))
    # Expected labels of image 0 recomputed independently of the converter.
    a0 = ann['annotations'][0]
    bgr = cv2.imread(osp.join(root, 'annotations/panoptic_train2017',
                              a0['file_name']))
    pid = (bgr[..., 2].astype(np.int64) + 256 * bgr[..., 1] +
           65536 * bgr[..., 0].astype(np.int64))
    label_of = {1: 0, 3: 0, 92: 1, 184: 2, 187: 3}
    expect = np.full(pid.shape, 255)
    for s in a0['segments_info']:
        expect[pid == s['id']] = label_of[s['category_id']]
    # Corrupt one PNG: it must be logged and skipped, the rest converted.
    bad = osp.join(root, 'annotations/panoptic_train2017',
                   ann['annotations'][2]['file_name'])
    open(bad, 'wb').write(b'not a png')
    rc = conv.main([root, '--no-progress'])
    assert rc == 1  # one failure reported in the exit code
    out_dir = osp.join(root, 'annotations', 'panoptic_semseg54_train2017')
    got = cv2.imread(osp.join(out_dir, a0['file_name']), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.uint8 and (got == expect).all()
    assert not osp.exists(osp.join(out_dir,
                                   ann['annotations'][2]['file_name']))
    assert not [f for f in os.listdir(out_dir) if '.tmp' in f]
    out = capsys.readouterr()
    assert 'failed 1' in out.out and 'not a readable PNG' in out.out + out.err
    names = json.load(open(osp.join(root, 'annotations',
                                    'panoptic_semseg54_classes.json')))
    assert names == ['things', 'banner', 'tree-merged', 'sky-other-merged']
    # Resume: existing outputs are skipped, nothing is rewritten.
    mtime = os.path.getmtime(osp.join(out_dir, a0['file_name']))
    conv.main([root, '--no-progress', '--splits', 'train'])
    assert os.path.getmtime(osp.join(out_dir, a0['file_name'])) == mtime
    assert 'skipped (already done) 2' in capsys.readouterr().out


def test_missing_json_is_one_clear_error(tmp_path, capsys):
    assert conv.main([str(tmp_path), '--no-progress']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'panoptic_train2017.json: not found' in err[0]


def test_truncated_json_is_one_clear_error(tmp_path, capsys):
    os.makedirs(tmp_path / 'annotations')
    (tmp_path / 'annotations' / 'panoptic_val2017.json').write_text('{"ann')
    assert conv.main([str(tmp_path), '--splits', 'val']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'truncated' in err[0]
