"""Hooks registered into mmselfsup's ``HOOKS`` registry."""
from .correspondence_probe_hook import CorrespondenceProbeHook

__all__ = ['CorrespondenceProbeHook']
