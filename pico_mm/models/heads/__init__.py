"""Heads of pico_mm (registered in mmselfsup's MODELS)."""
from .dense_projection_head import DenseProjectionHead

__all__ = ['DenseProjectionHead']
