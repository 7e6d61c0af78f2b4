"""The parts of ``tools/gpu_check.py`` (every GPU path in one command).

The top layer of the package, beside :mod:`pico_mm.demo`: the parts drive the
project's own tools, models and demo data, so they import downward from here
(``core``: the part runner and table; ``flow``: CUDA ops, RAFT, tracking;
``train``: training, export, MMSeg and MMDet iterations).
"""
