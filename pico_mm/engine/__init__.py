"""Training-loop pieces registered into mmselfsup's registries (hooks)."""
from .hooks import CorrespondenceProbeHook, ExactGTProbeHook

__all__ = ['CorrespondenceProbeHook', 'ExactGTProbeHook']
