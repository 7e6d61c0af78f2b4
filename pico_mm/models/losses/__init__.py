"""Losses of pico_mm (registered in mmselfsup's MODELS)."""
from .pixel_infonce_loss import PixelInfoNCELoss

__all__ = ['PixelInfoNCELoss']
