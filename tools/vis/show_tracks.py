#!/usr/bin/env python
"""Draw point tracks over their video's frames: PNG, GIF or MP4.

Examples::

    # animated GIF of frames 0..59, 200 random tracks, tails of 10 frames
    python tools/vis/show_tracks.py data/k400/tracks/abseiling/x.npz x.gif \\
        --frames 0:60 --max-tracks 200

    # one PNG (frame 42), twice the size, with a stricter consistency test
    python tools/vis/show_tracks.py x.npz x.png --frame 42 --scale 2 --beta 0.2

Colour = track; fading tail = its last positions; ``x`` = the track stopped
there (consistency / motion-boundary failure, typically an occlusion);
small square = it left the image. Frames are decoded from the track file's
``meta['source']`` exactly as the flow extractor saw them
(``pico_mm.flow.load_frames``); ``--source`` overrides the path and
``--blank`` draws on black.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pico_mm.tracking import TrackFileError, load_tracks  # noqa: E402
from pico_mm.tracking.visualize import (draw_frame,  # noqa: E402
                                        select_tracks, track_colors)

FORMATS = ('.png', '.gif', '.mp4', '.avi')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Draw tracks over frames to PNG / GIF / MP4.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('track_file', help='.npz written by track_points.py')
    p.add_argument('out', help='output .png (one frame), .gif or .mp4/.avi')
    p.add_argument('--frames', default=None,
                   help='frame range START:STOP[:STEP] for GIF/MP4 '
                   '(default: all frames)')
    p.add_argument('--frame', type=int, default=None,
                   help='frame for PNG (default: the one with most live tracks)')
    p.add_argument('--max-tracks', type=int, default=300,
                   help='random subset of tracks to draw (0 = all)')
    p.add_argument('--tail', type=int, default=10, help='tail length (frames)')
    p.add_argument('--scale', type=float, default=2.0, help='output upscaling')
    p.add_argument('--fps', type=float, default=None,
                   help='GIF/MP4 frame rate (default: the video rate)')
    p.add_argument('--alpha', type=float, default=None,
                   help='re-threshold: stricter consistency alpha')
    p.add_argument('--beta', type=float, default=None,
                   help='re-threshold: stricter consistency beta')
    p.add_argument('--source', default=None,
                   help='video / rawframe folder to use instead of meta source')
    p.add_argument('--blank', action='store_true',
                   help='draw on black frames (no video needed)')
    p.add_argument('--seed', type=int, default=0, help='track subset seed')
    return p.parse_args(argv)


def _frame_ids(args, tracks):
    n = tracks.num_frames
    if osp.splitext(args.out)[1].lower() == '.png':
        if args.frame is not None:
            if not 0 <= args.frame < n:
                raise ValueError(f'--frame {args.frame} outside 0..{n - 1}')
            return [args.frame]
        return [int(np.argmax(tracks.alive.sum(0)))]
    if args.frames is None:
        return list(range(n))
    parts = [int(v) if v else None for v in args.frames.split(':')]
    if len(parts) not in (2, 3):
        raise ValueError(f'--frames {args.frames}: expected START:STOP[:STEP]')
    ids = list(range(n))[slice(*parts)]
    if not ids:
        raise ValueError(f'--frames {args.frames} selects no frame of 0..{n - 1}')
    return ids


def load_video_frames(tracks, ids, source=None):
    """Frames ``ids`` as the flow extractor saw them (BGR uint8)."""
    from pico_mm.flow import load_frames
    meta = tracks.meta
    fm = meta.get('flow_meta', {})
    src = source or meta.get('source')
    if not src or not osp.exists(src):
        raise FileNotFoundError(
            f'source video {src!r} of the track file not found; pass '
            '--source PATH (the video or rawframe folder) or --blank')
    off = int(meta.get('frame_offset', 0))
    kwargs = dict(fps=meta.get('fps'), short_side=meta.get('short_side'),
                  source_fps=meta.get('source_fps_override',
                                      fm.get('source_fps_override')))
    tmpl = meta.get('rawframe_tmpl', fm.get('rawframe_tmpl'))
    if tmpl:
        kwargs['tmpl'] = tmpl
    frames = load_frames(src, [i + off for i in ids], **kwargs)
    h, w = tracks.frame_size
    if frames and frames[0].shape[:2] != (h, w):
        raise ValueError(
            f'{src}: frames are {frames[0].shape[1]}x{frames[0].shape[0]}, '
            f'the tracks {w}x{h}; wrong --source?')
    return frames


def write_output(path, images, fps):
    """Write images (BGR) as PNG / GIF / MP4 atomically."""
    ext = osp.splitext(path)[1].lower()
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, f'.{osp.basename(path)}.tmp{os.getpid()}{ext}')
    try:
        if ext == '.png':
            if not cv2.imwrite(tmp, images[0]):
                raise OSError(f'{path}: cannot write PNG')
        elif ext == '.gif':
            from PIL import Image
            pil = [Image.fromarray(im[:, :, ::-1]) for im in images]
            pil[0].save(tmp, save_all=True, append_images=pil[1:],
                        duration=int(round(1000 / fps)), loop=0,
                        optimize=False)
        else:
            h, w = images[0].shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*('mp4v' if ext == '.mp4' else
                                              'MJPG'))
            vw = cv2.VideoWriter(tmp, fourcc, fps, (w, h))
            if not vw.isOpened():
                raise OSError(f'{path}: OpenCV cannot open a {ext} writer')
            for im in images:
                vw.write(im)
            vw.release()
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def main(argv=None) -> int:
    args = parse_args(argv)
    ext = osp.splitext(args.out)[1].lower()
    if ext not in FORMATS:
        print(f'error: {args.out}: output must end in one of {FORMATS}',
              file=sys.stderr)
        return 2
    try:
        tracks = load_tracks(args.track_file, args.alpha, args.beta)
        ids = _frame_ids(args, tracks)
        if args.blank:
            h, w = tracks.frame_size
            frames = [np.zeros((h, w, 3), np.uint8)] * len(ids)
        else:
            frames = load_video_frames(tracks, ids, args.source)
    except (TrackFileError, FileNotFoundError, ValueError, IndexError,
            RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        def tqdm(x, **_):
            return x
    pool = select_tracks(tracks, ids, args.max_tracks or None, args.tail,
                         np.random.default_rng(args.seed))
    colors = track_colors(tracks.num_tracks)
    images = [
        draw_frame(frames[j], tracks, f, pool, colors, args.tail, args.scale)
        for j, f in enumerate(tqdm(ids, desc='show_tracks',
                                   disable=len(ids) < 2))
    ]
    fps = args.fps or float(tracks.meta.get('fps') or 30)
    try:
        write_output(args.out, images, fps)
    except OSError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    alive = tracks.alive[pool][:, ids].sum()
    print(f'wrote {args.out}: {len(images)} frame(s), {pool.size} tracks '
          f'drawn ({alive} live points), {tracks.num_tracks} in the file')
    return 0


if __name__ == '__main__':
    sys.exit(main())
