"""Necks of pico_mm (registered in mmselfsup's MODELS)."""
from .pico_fpn_neck import PiCoFPNNeck

__all__ = ['PiCoFPNNeck']
