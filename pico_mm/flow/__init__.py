"""Optical flow: video input, flow backends, flow store (pure torch/numpy/cv2).

Public API (see docs/contracts.md and docs/flow.md)::

    read_flow(path, t) -> (fwd, bwd)     # float32 H×W×2 (x, y), pair (t, t+1)
    num_frames(path) -> int
    read_meta(path) -> dict
    load_frames(source, indices=None, fps=30, short_side=256) -> [uint8 H×W×3 BGR]
    read_store_frames(path, indices) -> [uint8 H×W×3 BGR]   # frames kept in a store

Backends (``pico_mm.flow.backends``) import torch lazily.
"""
from .codec import dequantize, quantize
from .frame_store import StoreFrames, read_store_frames
from .store import (FlowReader, FlowStoreWriter, member_names, num_frames,
                    read_flow, read_meta)
from .video import (VideoReadError, iter_frames, load_frames,
                    load_store_frames, parse_list_file)

__all__ = [
    'read_flow', 'num_frames', 'read_meta', 'load_frames', 'load_store_frames',
    'iter_frames', 'FlowReader', 'FlowStoreWriter', 'VideoReadError',
    'parse_list_file', 'quantize', 'dequantize', 'member_names', 'StoreFrames',
    'read_store_frames'
]
