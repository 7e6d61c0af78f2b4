"""Training-loop pieces registered into mmselfsup's registries (hooks)."""
from .hooks import CorrespondenceProbeHook

__all__ = ['CorrespondenceProbeHook']
