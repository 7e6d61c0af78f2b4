#!/usr/bin/env python
"""COCO panoptic annotations → 54-class semantic PNGs for the mmseg probe.

Classes (Panoptic-FPN's semantic branch, as used by PiCo/VADeR): label 0 =
all 80 *thing* categories merged into ``things``; labels 1..53 = the 53
*stuff* categories sorted by category id; 255 = unlabeled (pixels in no
segment, i.e. panoptic id 0). Crowd segments are labelled like the others.

Input (the official layout)::

    DATA_ROOT/annotations/panoptic_{split}2017.json
    DATA_ROOT/annotations/panoptic_{split}2017/*.png   (RGB-encoded ids)

Output (one uint8 PNG per image, same file name)::

    DATA_ROOT/annotations/panoptic_semseg54_{split}2017/*.png
    DATA_ROOT/annotations/panoptic_semseg54_classes.json

Resumable (existing PNGs are skipped unless ``--overwrite``), shardable
(``--shard/--num-shards``, torchrun or Slurm arrays), every PNG is written to
a temporary file and renamed; a bad image is logged and skipped.

Example::

    python tools/dataset_converters/coco_panoptic2semantic.py data/coco
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

# Make the repo importable when pico_mm is not pip-installed (plain clone).
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from pico_mm.utils.batch_job import (JobItem, add_shard_args,
                                     atomic_write_bytes, run_jobs)

IGNORE = 255
THINGS = 'things'


class ConvertError(Exception):
    """Bad input: the message names the file and the fix."""


def build_mapping(categories: Sequence[dict]) -> Tuple[Dict[int, int],
                                                       List[str]]:
    """Map panoptic category ids to the 54 semantic labels.

    Args:
        categories (list[dict]): ``categories`` of the panoptic JSON (``id``,
            ``name``, ``isthing``).

    Returns:
        tuple: ``(cat2label, class_names)``; ``class_names[0] == 'things'``.
    """
    stuff = sorted((c for c in categories if not c.get('isthing', 0)),
                   key=lambda c: c['id'])
    cat2label = {c['id']: 0 for c in categories if c.get('isthing', 0)}
    for label, cat in enumerate(stuff, start=1):
        cat2label[cat['id']] = label
    return cat2label, [THINGS] + [c['name'] for c in stuff]


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """Decode a panoptic PNG (H×W×3, **RGB** order) to segment ids.

    Args:
        rgb (ndarray): uint8 H×W×3.

    Returns:
        ndarray: int64 H×W, ``R + 256·G + 256²·B``.
    """
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def panoptic_to_semantic(rgb: np.ndarray, segments_info: Sequence[dict],
                         cat2label: Dict[int, int]) -> np.ndarray:
    """Convert one panoptic annotation to a semantic label map.

    Args:
        rgb (ndarray): uint8 H×W×3 panoptic PNG in RGB order.
        segments_info (list[dict]): Its segments (``id``, ``category_id``).
        cat2label (dict): From :func:`build_mapping`.

    Returns:
        ndarray: uint8 H×W labels in 0..53, 255 for unlabeled.
    """
    ids = rgb_to_id(rgb)
    sem = np.full(ids.shape, IGNORE, dtype=np.uint8)
    for seg in segments_info:
        if seg['category_id'] not in cat2label:
            raise ConvertError(f'segment {seg["id"]} has unknown category '
                               f'{seg["category_id"]}')
        sem[ids == seg['id']] = cat2label[seg['category_id']]
    return sem


def load_json(path: str) -> dict:
    """Read the panoptic JSON with a one-line error on failure."""
    if not osp.isfile(path):
        raise ConvertError(f'{path}: not found; download COCO panoptic '
                           'annotations (annotations/panoptic_*2017.json) '
                           'and pass the COCO root')
    try:
        with open(path) as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConvertError(f'{path}: not valid JSON ({err}); the file is '
                           'truncated, download it again') from err
    for key in ('annotations', 'categories'):
        if key not in data:
            raise ConvertError(f'{path}: no "{key}" key; this is not a COCO '
                               'panoptic annotation file')
    return data


def split_jobs(data_root: str, split: str, out_name: str
               ) -> Tuple[List[JobItem], List[str], str]:
    """Build the job items of one split.

    Args:
        data_root (str): COCO root.
        split (str): ``train`` or ``val``.
        out_name (str): Output folder pattern with ``{split}``.

    Returns:
        tuple: ``(items, class_names, out_dir)``.
    """
    ann = osp.join(data_root, 'annotations', f'panoptic_{split}2017.json')
    png_dir = osp.join(data_root, 'annotations', f'panoptic_{split}2017')
    data = load_json(ann)
    if not osp.isdir(png_dir):
        raise ConvertError(f'{png_dir}: not found; unzip '
                           f'panoptic_{split}2017.zip next to the JSON')
    cat2label, names = build_mapping(data['categories'])
    out_dir = osp.join(data_root, 'annotations', out_name.format(split=split))
    items = [
        JobItem(name=a['file_name'],
                output=osp.join(out_dir, a['file_name']),
                payload=(osp.join(png_dir, a['file_name']),
                         a['segments_info'], cat2label))
        for a in data['annotations']
    ]
    return items, names, out_dir


def convert_item(item: JobItem, tmp_path: str) -> str:
    """Worker for :func:`run_jobs`: write one semantic PNG to ``tmp_path``."""
    src, segments, cat2label = item.payload
    bgr = cv2.imread(src, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConvertError(f'{src}: missing or not a readable PNG')
    sem = panoptic_to_semantic(bgr[..., ::-1], segments, cat2label)
    if not cv2.imwrite(tmp_path, sem):
        raise ConvertError(f'cannot write {tmp_path}')
    return f'{int((sem != IGNORE).sum())} labelled px'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert COCO panoptic PNGs to 54-class semantic PNGs '
        '(things merged into one class, 53 stuff classes, 255 unlabeled).')
    parser.add_argument('data_root', help='COCO root holding annotations/')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--out-name', default='panoptic_semseg54_{split}2017',
                        help='output folder under annotations/ ({split} is '
                        'replaced)')
    parser.add_argument('--overwrite', action='store_true',
                        help='redo PNGs that already exist')
    parser.add_argument('--no-progress', action='store_true')
    add_shard_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    failed = 0
    for split in args.splits:
        try:
            items, names, out_dir = split_jobs(args.data_root, split,
                                               args.out_name)
        except ConvertError as err:
            print(f'error: {err}', file=sys.stderr)
            return 1
        classes = osp.join(args.data_root, 'annotations',
                           'panoptic_semseg54_classes.json')
        atomic_write_bytes(classes, json.dumps(names, indent=1).encode())
        summary = run_jobs(
            items, convert_item, shard=args.shard, num_shards=args.num_shards,
            log_path=osp.join(out_dir, 'convert.log') if items else None,
            desc=f'panoptic→semantic {split}', overwrite=args.overwrite,
            progress=not args.no_progress, data_errors=(ConvertError, ))
        print(summary.format())
        print(f'{split}: {len(names)} classes, labels in {out_dir}')
        failed += len(summary.failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
