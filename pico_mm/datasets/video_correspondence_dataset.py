"""Frame pairs with pixel correspondences from videos and their point tracks."""
import glob
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmselfsup.registry import DATASETS

from pico_mm.flow import VideoReadError, load_frames, parse_list_file
from .frame_source import open_frames, store_path, warn_fallback
from .lru_cache import LRUCache
from .track_source import (NoPairs, find_track_file, open_clip_tracks,
                           sample_pairs)

SAMPLERS = ('anchor', 'random', 'static_video', 'static_frame')


@DATASETS.register_module()
class VideoCorrespondenceDataset(BaseDataset):
    """PiCo training data: two frames of a video and their point pairs.

    Each item is one video of an mmaction2 list (``path label`` or
    ``frame_dir total_frames label``). ``__getitem__`` picks two frames and
    their correspondences with ``frame_sampler``:

    - ``'anchor'`` (PiCo): top-K anchor sampling on the video's tracks
      (:func:`pico_mm.tracking.anchor_sample`), frame 1 = anchor, frame 2 =
      one of the K returned frames (uniform over those with pairs);
    - ``'random'`` (ablation): anchor and frame drawn uniformly without
      looking at the tracks (:func:`pico_mm.tracking.random_sample`); a draw
      whose frames share no track is **kept** with zero pairs (the model
      skips it in the loss and logs the fraction), since redrawing would
      make random sampling as pair-rich as anchor sampling;
    - ``'static_video'`` (baseline): the frame pair *and* the points of the
      PiCo sample (same anchor sampling, same rng draws), with the identity
      correspondence (zero flow: the anchor-frame points, same coordinates
      in both frames) instead of the tracked one;
    - ``'static_frame'`` (baseline): the anchor frame twice with the same
      points, identity correspondence.

    So the three arms see the same frames, frame gaps, point positions and
    pair counts per sample, and differ only in what the paper studies
    (tracked correspondence vs. identity, two frames vs. one). The static
    samplers also pass PiCo's frame-2 points as ``points2_budget``:
    ``CorrespondenceViews`` keeps no more identity pairs than PiCo's pairs
    that survive the same crops, so the pairs the loss sees match too. Without a
    track folder the static samplers fall back to ``num_static_points``
    uniform points on random frames (pair counts and gaps then do not match
    PiCo's; a warning says so once).

    ``alpha``/``beta`` (forward-backward test) and ``k`` are applied at load
    time (:func:`pico_mm.tracking.open_tracks`; a value looser than the one
    the tracks were made with is an error). A format-2 track file is read by
    offset: the per-track table at alpha/beta and the point rows of the two
    frames of the sample only (``datasets/track_source.py``); an old file is
    read whole (warned once; ``tools/data/convert_tracks.py`` converts it).
    Frames are decoded with
    :func:`pico_mm.flow.load_frames` at the ``fps``/``short_side`` stored in
    the track meta (so they match the flow the tracks came from). Decoded
    frames and loaded tracks are kept in small per-worker LRU caches.

    A video without usable pairs (or whose pairs all leave the augmented
    views) is resampled, except for ``'random'`` (see above): up to
    ``max_retries`` further attempts, then a ``RuntimeError`` names every
    video tried and why it failed.

    Results before the pipeline: ``img``, ``img2`` (H×W×3 uint8 BGR),
    ``points1``, ``points2`` (M×2 float32 (x, y), pixel-index coordinates of
    ``docs/contracts.md``), ``points2_budget`` (static samplers with tracks),
    ``video``, ``frame_inds`` ((t1, t2)),
    ``frame_sampler``, ``ori_shape``, ``img_shape``, ``sample_idx``.

    Args:
        ann_file (str): mmaction2 video or rawframe list.
        data_root (str): Root joined to ``ann_file`` and ``data_prefix``.
        data_prefix (dict): ``video`` (folder of the list's paths) and
            ``tracks`` (folder of the ``<path minus ext>.npz`` track files of
            ``tools/data/track_points.py``; may be empty for the static
            samplers) and ``flow`` (folder of the flow stores; a store that
            keeps its frames is read instead of the video, see
            ``frame_store``).
        frame_sampler (str): One of ``SAMPLERS``.
        alpha (float, optional): Consistency alpha (None: extraction value).
        beta (float, optional): Consistency beta (None: extraction value).
        k (int): Top-K frames of anchor / random sampling.
        num_static_points (int): Random points of the static samplers when
            the video has no track file (fallback only).
        min_pairs (int): Fewest pairs a sample must keep after the pipeline
            (not applied to ``'random'``, whose empty draws are kept).
        max_retries (int): Resampling attempts before giving up.
        fps (float): Decode fps when no track file gives one (static modes).
        short_side (int): Decode short side when no track file gives one.
        track_suffix (str): Suffix of the track files.
        frame_cache_size (int): Decoded frames kept per worker.
        track_cache_size (int): Loaded track files kept per worker.
        frame_store (bool): Read the frames kept in the flow store
            (``<flow>/<flow_rel>.zip``, else the tracks' ``flow_path``) when
            it has them; otherwise, or when False, decode the source video
            (slow; warned once per process).
        pipeline (list): Transforms, e.g. ``CorrespondenceViews`` +
            ``PackPiCoInputs``.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[Dict] = None,
                 frame_sampler: str = 'anchor',
                 alpha: Optional[float] = None,
                 beta: Optional[float] = None,
                 k: int = 4,
                 num_static_points: int = 2048,
                 min_pairs: int = 1,
                 max_retries: int = 10,
                 fps: float = 30,
                 short_side: int = 256,
                 track_suffix: str = '.npz',
                 frame_cache_size: int = 64,
                 track_cache_size: int = 8,
                 frame_store: bool = True,
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if frame_sampler not in SAMPLERS:
            raise ValueError(f'frame_sampler must be one of {SAMPLERS}, '
                             f'got {frame_sampler!r}')
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        self.frame_sampler = frame_sampler
        self.alpha, self.beta, self.k = alpha, beta, int(k)
        self.num_static_points = int(num_static_points)
        self.min_pairs = int(min_pairs)
        self.max_retries = int(max_retries)
        self.fps, self.short_side = fps, short_side
        self.track_suffix = track_suffix
        self._warned_fallback = False
        self._frames = LRUCache(frame_cache_size)
        self._tracks = LRUCache(track_cache_size)
        self._num_frames: Dict[str, int] = {}
        prefix = dict(video='', tracks='', flow='')
        prefix.update(data_prefix or {})
        self.frame_store = bool(frame_store)
        self._flow_given = bool(prefix['flow'])
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=prefix,
            pipeline=list(pipeline),
            **kwargs)

    # ------------------------------------------------------------- loading
    def load_data_list(self) -> List[Dict]:
        """Read the video list (:func:`pico_mm.flow.parse_list_file`).

        A video whose tracks are shot snippets (``<tracks>/<rel minus
        ext>/snippet_*.npz``, as ``tools/data/extract_flow.py`` writes them
        for shot-split input) gives one item per snippet.
        """
        video_dir = self.data_prefix.get('video', '') or None
        track_dir = self.data_prefix.get('tracks', '') or None
        items = []
        for rel, source in parse_list_file(self.ann_file, video_dir):
            info = dict(rel_path=rel, source=source, track_dir=track_dir,
                        track_file=None)
            snip_dir = (osp.join(track_dir, osp.splitext(rel)[0])
                        if track_dir else '')
            snippets = (sorted(glob.glob(osp.join(
                snip_dir, 'snippet_*' + self.track_suffix)))
                        if snip_dir and osp.isdir(snip_dir) else [])
            if snippets:
                for path in snippets:
                    name = osp.splitext(osp.basename(path))[0]
                    items.append(dict(info, track_file=path,
                                      rel_path=f'{rel}#{name}'))
            else:
                items.append(info)
        if not items:
            raise ValueError(f'video list {self.ann_file} has no entries')
        return items

    def track_path(self, info: Dict) -> Optional[str]:
        """Track file of a video (:func:`.track_source.find_track_file`)."""
        return find_track_file(info, self.track_suffix)

    def _load_tracks(self, info: Dict):
        path = self.track_path(info)
        return self._tracks.get(
            path, lambda: open_clip_tracks(path, self.alpha, self.beta))

    def _decode_args(self, tracks) -> Dict:
        """``load_frames`` settings: the track meta's, else the dataset's."""
        meta = {} if tracks is None else tracks.meta
        return dict(
            fps=meta.get('fps', self.fps),
            short_side=meta.get('short_side', self.short_side),
            source_fps=meta.get('source_fps_override'),
            offset=int(meta.get('frame_offset', 0) or 0),
            flow_rel=meta.get('flow_rel'),
            flow_path=meta.get('flow_path') or None)

    def _store_path(self, info: Dict, args: Dict) -> Optional[str]:
        flow_dir = self.data_prefix['flow'] if self._flow_given else None
        return store_path(flow_dir, info, args) if self.frame_store else None

    def _frames_at(self, info: Dict, inds: Sequence[int],
                   args: Dict) -> List[np.ndarray]:
        """Frames ``inds`` (track/store indices) through the cache: from the
        flow store when it keeps them, else decoded from the source."""
        src, off = info['source'], args['offset']
        path = self._store_path(info, args)
        store = open_frames(path)  # closed below (or by its __del__)
        key = (('store', store.path) if store else
               (src, args['fps'], args['short_side'], args['source_fps'], off))
        found = {}
        for t in dict.fromkeys(inds):
            frame = self._frames.peek(key + (t, ))
            if frame is not None:
                found[t] = frame
        missing = [t for t in dict.fromkeys(inds) if t not in found]
        if missing and store:
            frames = store.read_many(missing)
        elif missing:
            warn_fallback(src, path)
            frames = load_frames(
                src, [t + off for t in missing],
                fps=args['fps'],
                short_side=args['short_side'],
                source_fps=args['source_fps'])
        if missing:
            for t, frame in zip(missing, frames):
                found[t] = frame
                self._frames.put(key + (t, ), frame)
        if store:
            store.close()
        return [found[t] for t in inds]

    def _video_length(self, info: Dict, tracks) -> int:
        if tracks is not None:
            return int(tracks.num_frames)
        src = info['source']
        store = None
        if src not in self._num_frames:
            store = open_frames(self._store_path(info, {}))
        if store is not None:  # the frames _frames_at will read
            self._num_frames[src] = store.num_frames
            store.close()
        if src not in self._num_frames:
            self._num_frames[src] = len(
                load_frames(src, None, fps=self.fps,
                            short_side=self.short_side))
        return self._num_frames[src]

    # ------------------------------------------------------------ sampling
    def _sample_tracks(self, info: Dict, rng: np.random.Generator):
        """Frames and pairs of the track-based samplers (all but fallback).

        ``'anchor'`` and both static samplers make the same draws from
        ``rng`` (PiCo's anchor sampling), so from the same generator state
        they return the same frames and anchor points.

        Returns:
            tuple: ``tracks``, ``(t1, t2)``, ``p1``, ``p2`` (M×2) and the
            pair budget: PiCo's frame-2 points (M×2) for the static
            samplers, else None.
        """
        tracks = self._load_tracks(info)
        (t1, t2), p1, p2 = sample_pairs(tracks, self.frame_sampler, self.k,
                                        self.min_pairs, rng)
        if self.frame_sampler not in ('static_video', 'static_frame'):
            return tracks, (t1, t2), p1, p2, None
        if self.frame_sampler == 'static_frame':
            t2 = t1
        # identity correspondence (zero flow); PiCo's frame-2 points are the
        # pair budget of the views
        return tracks, (t1, t2), p1, p1.copy(), p2

    def _sample_static_fallback(self, info: Dict,
                                rng: np.random.Generator):
        """Static samplers on a video without tracks: random frame(s)."""
        if not self._warned_fallback:
            self._warned_fallback = True
            print_log(
                f'{self.frame_sampler}: no track file for '
                f'{info["rel_path"]}; using {self.num_static_points} uniform '
                'points on random frames, so pair counts and frame gaps do '
                'not match PiCo\'s (set data_prefix.tracks to compare fairly)',
                logger='current', level=logging.WARNING)
        n = self._video_length(info, None)
        if n < 1:
            raise NoPairs('video has no frames')
        t1 = int(rng.integers(n))
        t2 = t1
        if self.frame_sampler == 'static_video' and n > 1:
            t2 = int((t1 + rng.integers(1, n)) % n)
        return None, (t1, t2), None, None, None

    def prepare_sample(self, idx: int, rng: np.random.Generator) -> Dict:
        """Frames and correspondences of video ``idx`` (before the pipeline).

        Args:
            idx (int): Video index.
            rng (np.random.Generator): Source of randomness.

        Returns:
            dict: See the class docstring.
        """
        info = self.get_data_info(idx)
        path = self.track_path(info)
        if self.frame_sampler in ('anchor', 'random') or (
                path is not None and osp.isfile(path)):
            sample = self._sample_tracks(info, rng)
        else:
            sample = self._sample_static_fallback(info, rng)
        tracks, (t1, t2), p1, p2, budget = sample
        img1, img2 = self._frames_at(info, (t1, t2),
                                     self._decode_args(tracks))
        h, w = img1.shape[:2]
        if tracks is not None and tuple(tracks.frame_size) != (h, w):
            raise RuntimeError(
                f'{info["source"]}: decoded frames are {h}x{w} but the tracks '
                f'{self.track_path(info)} were made on '
                f'{tracks.frame_size[0]}x{tracks.frame_size[1]} frames '
                '(wrong video, or different fps/short_side)')
        if p1 is None:  # identity correspondence
            m = self.num_static_points
            p1 = np.stack([rng.uniform(0, w - 1, m),
                           rng.uniform(0, h - 1, m)], 1).astype(np.float32)
            p2 = p1.copy()
        extra = {} if budget is None else dict(points2_budget=budget)
        return dict(
            **extra,
            img=img1, img2=img2.copy() if t1 == t2 else img2,
            points1=p1, points2=p2, video=info['rel_path'],
            source=info['source'], frame_inds=(t1, t2),
            frame_sampler=self.frame_sampler, ori_shape=(h, w),
            img_shape=(h, w), sample_idx=idx)

    @staticmethod
    def _num_valid(data) -> Optional[int]:
        sample = data.get('data_samples') if isinstance(data, dict) else None
        if sample is not None and 'points_valid' in sample:
            return int(sample.points_valid.sum())
        if isinstance(data, dict) and 'points1' in data:
            return len(data['points1'])
        return None

    def __getitem__(self, idx: int) -> Dict:
        """Sample ``idx`` through the pipeline, resampling bad videos.

        Raises:
            RuntimeError: ``max_retries`` resamplings all failed; the message
                lists each video tried and the reason.
        """
        if not self._fully_initialized:
            self.full_init()
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        failures = []
        for _ in range(self.max_retries + 1):
            try:
                results = self.prepare_sample(idx, rng)
            except (NoPairs, OSError, ValueError, IndexError,
                    VideoReadError) as e:
                # no pairs / missing or corrupt track or video file
                failures.append(f'{self.get_data_info(idx)["rel_path"]}: {e}')
                idx = int(rng.integers(len(self)))
                continue
            data = self.pipeline(results)
            n = self._num_valid(data)
            if data is not None and (n is None or n >= self.min_pairs
                                     or self.frame_sampler == 'random'):
                return data
            failures.append(f'{self.get_data_info(idx)["rel_path"]}: '
                            f'{n} pairs left after the view pipeline')
            idx = int(rng.integers(len(self)))
        raise RuntimeError(
            f'{len(failures)} attempts found no usable point pairs '
            f'(frame_sampler={self.frame_sampler!r}); check the tracks or '
            'loosen alpha/beta/min_pairs: ' + '; '.join(failures))
