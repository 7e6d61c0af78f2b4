"""Building blocks of the end-to-end demo (``tools/demo.py``).

``synthetic`` (pure numpy/cv2) renders the deterministic demo video set;
``pictures`` (matplotlib Agg) draws PCA-RGB feature images and loss/probe curves.
Import the submodules directly; this package imports nothing heavy.
"""
