#!/usr/bin/env python
"""Make PiCo-oracle track files: PiCo's own seeds, the renderer's exact motion.

    python tools/data/oracle_tracks.py work_dirs/x/tracks work_dirs/x/tracks_oracle \\
        --render-root data/rendered

For every track file under TRACK_DIR whose name is a rendered clip
(``<split>_<index>.npz``, e.g. ``train_003.npz``, in any sub-folder), the clip is
rendered again from ``RENDER_ROOT/render_info.json`` (bit-identical to the one the
flow was made from) and each DIS track is replaced by the exact track of its seed
(``pico_mm.demo.render.oracle_tracks``): alive while visible, stopped when it leaves
the frame or is occluded. The output keeps the relative path, so the same config
trains PiCo-oracle with ``data_prefix.tracks`` pointed at OUT_DIR; files whose name
is not a rendered clip (e.g. the real clips) are copied unchanged, i.e. PiCo-oracle
uses PiCo's DIS tracks there. Writes temp-then-rename. A bad track file or clip is
named and skipped, and the exit status is 1; a machine fault (disk full, unreadable
folder) stops the tool with its traceback.
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

CLIP_NAME = re.compile(r'^(train|val|test)_(\d+)$')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Replace the DIS tracks of rendered clips by exact tracks '
        'from the same seeds (the PiCo-oracle arm)')
    p.add_argument('track_dir', help='PiCo\'s track files (DIS)')
    p.add_argument('out_dir', help='output folder (same relative paths)')
    p.add_argument('--render-root', required=True,
                   help='folder written by tools/data/render_clips.py (its '
                   'render_info.json gives the clip size and frames)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from tqdm import tqdm

    from pico_mm.demo.render import RENDER_VERSION, ClipConfig, render_clip
    from pico_mm.demo.render.oracle_tracks import oracle_tracks
    from pico_mm.tracking import load_tracks, save_tracks
    from pico_mm.utils.batch_job import list_outputs
    info_path = osp.join(args.render_root, 'render_info.json')
    if not osp.isfile(info_path):
        print(f'error: {info_path} not found: pass the --render-root that '
              'tools/data/render_clips.py wrote', file=sys.stderr)
        return 2
    info = json.load(open(info_path))
    if info.get('version') != RENDER_VERSION:
        print(f'error: {info_path} is renderer version {info.get("version")}, this '
              f'code renders version {RENDER_VERSION}: re-render the clips and '
              're-extract their flow and tracks', file=sys.stderr)
        return 2
    cfg = ClipConfig(**info['config'])
    # not temps of a killed track_points.py, nor caches beside the files
    files = sorted(rel for rel, _ in list_outputs(args.track_dir, '.npz',
                                                  skip_hidden=True))
    if not files:
        print(f'error: no .npz track files under {args.track_dir}',
              file=sys.stderr)
        return 2
    print('device: cpu (exact correspondences, numpy)')
    failed, made, copied = [], 0, 0
    for rel in tqdm(files, desc='oracle tracks', unit='file'):
        src, dst = osp.join(args.track_dir, rel), osp.join(args.out_dir, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        m = CLIP_NAME.match(osp.splitext(osp.basename(rel))[0])
        try:
            if m is None:
                tmp = dst + '.tmp'
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
                copied += 1
                continue
            clip = render_clip(m.group(1), int(m.group(2)), cfg)
            if clip.fingerprint() != info['clips'].get(clip.name):
                raise ValueError(f'rendered {clip.name} has fingerprint '
                                 f'{clip.fingerprint()}, render_info.json says '
                                 f'{info["clips"].get(clip.name)}')
            save_tracks(dst, oracle_tracks(clip.scene, load_tracks(src)))
            made += 1
        except ValueError as e:  # a bad track file or clip: listed, go on
            print(f'FAILED {src}: {e}', file=sys.stderr)
            failed.append(src)
    print(f'oracle tracks: {made} made, {copied} copied unchanged (not rendered '
          f'clips), {len(failed)} failed -> {args.out_dir}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
