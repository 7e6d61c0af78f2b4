"""The default rendered clip set is bit-identical everywhere (issue 19, point 0).

The fingerprints are constants; a subprocess with numpy's, OpenCV's and
libjpeg-turbo's SIMD paths disabled (``scalar_cpu_env``) must render the same
frames, masks, exact tracks and JPEG bytes. A change to the generation must bump
``RENDER_VERSION`` and these constants.
"""
import json
import os.path as osp
import subprocess
import sys

from pico_mm.evaluation.deterministic_ops import scalar_cpu_env

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: ``set_fingerprint`` of the default split sets (RENDER_VERSION 1, 96×160, 48 frames).
DEFAULT_SETS = {'train': '6edcb1f55f04', 'val': 'b6d9fa7fef88',
                'test': 'fcd4092449ce'}
#: Tracks of a grid on val clip 0 and the JPEG bytes of one of its frames.
VAL0 = {'tracks': 'ae03b8bf7a50', 'jpeg': '0dcbba1fdc14'}

SCRIPT = r'''
import hashlib, json, sys
import cv2
import numpy as np
if sys.argv[1] == 'scalar':
    cv2.setUseOptimized(False)
from pico_mm.demo.render import iter_split, render_clip, set_fingerprint, track_points
out = {s: set_fingerprint(list(iter_split(s))) for s in sys.argv[2:]}
c = render_clip('val', 0)
ok, buf = cv2.imencode('.jpg', c.frames[5], [cv2.IMWRITE_JPEG_QUALITY, 95])
out['jpeg'] = hashlib.sha1(buf.tobytes()).hexdigest()[:12]
pts = np.stack(np.mgrid[2:96:8, 2:160:8][::-1], -1).reshape(-1, 2).astype(float)
tr, vis, _ = track_points(c.scene, 0, pts)
out['tracks'] = hashlib.sha1(tr.tobytes() + vis.tobytes()).hexdigest()[:12]
print(json.dumps(out))
'''


def _run(mode, splits, env=None):
    res = subprocess.run([sys.executable, '-c', SCRIPT, mode, *splits],
                         cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_default_sets_match_their_constants():
    got = _run('native', ['train', 'val', 'test'])
    assert {k: got[k] for k in DEFAULT_SETS} == DEFAULT_SETS
    assert {k: got[k] for k in VAL0} == VAL0


def test_same_bits_without_simd():
    # test's textures include a JPEG photograph (libjpeg-turbo's integer IDCT)
    got = _run('scalar', ['val', 'test'], scalar_cpu_env())
    assert got['val'] == DEFAULT_SETS['val'] and got['test'] == DEFAULT_SETS['test']
    assert {k: got[k] for k in VAL0} == VAL0
