"""Algorithms of pico_mm (registered in mmselfsup's MODELS)."""
from .pico import PiCo

__all__ = ['PiCo']
