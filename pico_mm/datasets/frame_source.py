"""Where a training sample's frames come from: the flow store or the video.

``tools/data/extract_flow.py`` keeps every frame it computed flow on inside
the video's flow store (JPEG members, :mod:`pico_mm.flow.frame_store`); two
frames then cost two small reads and two JPEG decodes. A store written
without frames (older stores, ``--no-frames``) or a missing store falls back
to decoding the source video from its start (:func:`pico_mm.flow.load_frames`,
the frames those stores' flow was computed on), with a one-time warning.
"""
import logging
import os.path as osp
from typing import Dict, Optional

from mmengine.logging import print_log

from pico_mm.flow import StoreFrames

_warned = False


def store_path(flow_dir: Optional[str], info: Dict, args: Dict) -> Optional[str]:
    """The flow store of a dataset item, if it exists.

    Args:
        flow_dir (str, optional): ``data_prefix['flow']`` (folder given to
            ``tools/data/extract_flow.py`` as OUT_DIR), or None.
        info (dict): Data info (``rel_path``).
        args (dict): Decode args; ``flow_rel`` / ``flow_path`` come from the
            track meta (``tools/data/track_points.py`` records both).

    Returns:
        str | None: ``<flow_dir>/<flow_rel>.zip`` (``flow_rel`` defaults to
        the list path without extension), else the track meta's absolute
        ``flow_path``, whichever exists first.
    """
    cands = []
    if flow_dir:
        rel = args.get('flow_rel') or osp.splitext(
            info['rel_path'].split('#')[0])[0]
        cands.append(osp.join(flow_dir, rel + '.zip'))
    if args.get('flow_path'):
        cands.append(args['flow_path'])
    for cand in cands:
        if osp.isfile(cand):
            return cand
    return None


def open_frames(path: Optional[str]) -> Optional[StoreFrames]:
    """An open :class:`StoreFrames` if ``path`` keeps frames, else None."""
    if path is None:
        return None
    store = StoreFrames(path)
    if store.has_frames:
        return store
    store.close()
    return None


def warn_fallback(source: str, store: Optional[str]) -> None:
    """Warn once per process that frames are decoded from a video file."""
    global _warned
    if _warned or osp.isdir(source):  # rawframe folders read fast anyway
        return
    _warned = True
    why = (f'its flow store {store} keeps no frames' if store else
           'no flow store found (data_prefix.flow, the tracks\' flow_path; '
           'or frame_store=False)')
    print_log(
        f'VideoCorrespondenceDataset: {source}: {why}; decoding frames from '
        'the video instead. This is slow (the video is decoded from frame 0 '
        'up to the frame asked for: several times a MoCo-v2 sample, see '
        'docs/training.md). Build stores that keep the frames (the default '
        'of tools/data/extract_flow.py) with python tools/data/preprocess.py '
        'VIDEOS OUT_DIR --overwrite, and set data_prefix.flow=OUT_DIR/flow. '
        '(Shown once per process.)', logger='current', level=logging.WARNING)
