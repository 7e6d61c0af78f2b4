"""Hooks registered into mmselfsup's ``HOOKS`` registry."""
from .correspondence_probe_hook import CorrespondenceProbeHook
from .exact_gt_probe_hook import ExactGTProbeHook

__all__ = ['CorrespondenceProbeHook', 'ExactGTProbeHook']
