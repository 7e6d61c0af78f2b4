#!/usr/bin/env bash
# Create/refresh .venv with the pinned OpenMMLab stack (idempotent).
#
# Steps (each fails loudly with its name):
#   0. prerequisites one line per missing one: $PYTHON with the venv module,
#                    make, a C++20 compiler ($CXX, default c++), free disk
#                    space ($PICO_MM_MIN_FREE_GB, default 10) next to .venv.
#                    `bash scripts/setup_env.sh --check-prereqs` runs only this.
#   1. venv          python3.11 -m venv .venv
#   2. base          torch/torchvision/numpy/opencv/mmengine (+ build tools)
#   3. mmcv          mmcv 2.0.1 built from the PyPI sdist with compiled ops
#                    (-std=c++14 rewritten to -std=c++20 for torch 2.14 headers);
#                    CPU or CUDA ops as scripts/cuda_build_plan.py decides (a
#                    visible GPU, a CUDA toolkit, FORCE_CUDA; see there), from
#                    the INSTALLED mmcv's real state, so a CPU-only mmcv is
#                    rebuilt once CUDA ops are wanted; the wheel is cached in
#                    $PICO_MM_CACHE keyed by (mmcv, torch, python, cuda+archs)
#                    so a second install takes seconds.
#   4. openmmlab     mmcls, mmselfsup, mmdet, mmsegmentation (+ ftfy, regex, pycocotools)
#   5. opencv        keep only opencv-python-headless (mmengine pulls opencv-python)
#   6. pico_mm       pip install -e . (editable)
#   7. check         imports; RoIAlign and nms run on the GPU when one is visible
#                    (one line naming the fix if they fail).
# A stamp file (.venv/.pico_mm_stamp) holds the hash of the requirement files
# and this script (line 1) and the mmcv build (line 2: its cache key, with the
# CUDA version and archs); when line 1 matches and the installed mmcv is what
# scripts/cuda_build_plan.py wants for this machine, the script does nothing.
#
# Environment:
#   PYTHON          interpreter to create the venv with (default: python3.11)
#   PICO_MM_CACHE   wheel cache (default: ~/.cache/pico_mm)
#   FORCE_CUDA=1    build mmcv's CUDA ops even when no GPU is visible (login
#                   node): needs TORCH_CUDA_ARCH_LIST, e.g. "9.0" (H100/H200),
#                   "8.0" (A100), and nvcc of torch's CUDA major version.
#   FORCE_CUDA=0    CPU-only ops on purpose, even with a GPU or nvcc.
#   TORCH_CUDA_ARCH_LIST  archs of the CUDA ops (default: the visible GPUs').
#   TORCH_INDEX_URL torch/torchvision from this index, e.g.
#                   https://download.pytorch.org/whl/cu126 (CUDA 12.6: needs
#                   nvcc 12.x for mmcv's CUDA ops, driver >= 560); default:
#                   PyPI's torch 2.14.1 = CUDA 13 (nvcc 13.x, driver >= 580).
#   MAX_JOBS        parallel compile jobs for mmcv (default: nproc)
#   MAKE, CXX       make and C++ compiler to check for (default: make, c++)
#   PICO_MM_MIN_FREE_GB  free disk space required (GB, default 10: .venv takes
#                   ~6 GB with torch's CUDA libraries, plus pip's downloads)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3.11}
CACHE=${PICO_MM_CACHE:-$HOME/.cache/pico_mm}
VENV=$ROOT/.venv
PY=$VENV/bin/python
PIP=("$PY" -m pip --disable-pip-version-check)
CONSTRAINTS=$ROOT/requirements/constraints.txt

step() { echo "[setup_env] $*"; }
fail() { echo "[setup_env] FAILED at step: $CURRENT_STEP" >&2; }
trap fail ERR

# One line per missing prerequisite; returns 1 if any is missing.
check_prereqs() {
    local missing=0 tmp free_kb need_gb=${PICO_MM_MIN_FREE_GB:-10}
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "[setup_env] missing prerequisite: $PYTHON (Python 3.11; Debian/Ubuntu: apt-get install python3.11 python3.11-venv, or set PYTHON=/path/to/python3.11)" >&2
        missing=1
    elif [[ $("$PYTHON" -c 'import sys, venv, ensurepip; print(sys.version_info[:2] == (3, 11))' 2>/dev/null) != True ]]; then
        echo "[setup_env] missing prerequisite: $PYTHON must be Python 3.11 with the venv module (Debian/Ubuntu: apt-get install python3.11-venv)" >&2
        missing=1
    fi
    if ! command -v "${MAKE:-make}" >/dev/null 2>&1; then
        echo "[setup_env] missing prerequisite: ${MAKE:-make} (Debian/Ubuntu: apt-get install make)" >&2
        missing=1
    fi
    tmp=$(mktemp -d)
    printf '#if __cplusplus < 202002L\n#error no C++20\n#endif\nint main() { return 0; }\n' > "$tmp/t.cpp"
    if ! "${CXX:-c++}" -std=c++20 "$tmp/t.cpp" -o "$tmp/t" >/dev/null 2>&1; then
        echo "[setup_env] missing prerequisite: a C++20 compiler as ${CXX:-c++} (g++ >= 10 or clang >= 10; Debian/Ubuntu: apt-get install g++), needed to build mmcv's ops" >&2
        missing=1
    fi
    rm -rf "$tmp"
    free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 {print $4}')
    if (( free_kb < need_gb * 1024 * 1024 )); then
        echo "[setup_env] missing prerequisite: ${need_gb} GB free disk space at $ROOT ($((free_kb / 1024 / 1024)) GB free; .venv with torch's CUDA libraries takes ~6 GB)" >&2
        missing=1
    fi
    return $missing
}

if [[ ${1:-} == --check-prereqs ]]; then
    trap - ERR
    if check_prereqs; then step "prerequisites ok"; exit 0; else exit 1; fi
fi

stamp_hash=$( (cat requirements/*.txt setup.py scripts/setup_env.sh \
    scripts/cuda_build_plan.py; echo "${TORCH_INDEX_URL:-}") | sha256sum | cut -c1-16)
MMCV_RECORD=$VENV/.pico_mm_mmcv_key
# Sets MMCV_KEY, MMCV_CUDA, MMCV_ARCH, MMCV_ACTION, MMCV_WHY (or fails with
# one line naming the fix).
mmcv_plan() {
    local out
    out=$("$PY" scripts/cuda_build_plan.py plan --record "$MMCV_RECORD") || {
        echo "[setup_env] FAILED at step: $CURRENT_STEP" >&2; exit 1; }
    eval "$out"
}
CURRENT_STEP=mmcv-plan
if [[ -f $VENV/.pico_mm_stamp && $(head -1 "$VENV/.pico_mm_stamp") == "$stamp_hash" ]]; then
    trap - ERR
    mmcv_plan
    trap fail ERR
    if [[ $MMCV_ACTION == keep ]]; then
        step "environment up to date ($VENV; mmcv $MMCV_KEY)"
        exit 0
    fi
    step "mmcv needs a new build: $MMCV_WHY"
fi

CURRENT_STEP=prerequisites
if ! check_prereqs; then
    echo "[setup_env] FAILED at step: $CURRENT_STEP (install the above, then re-run)" >&2
    exit 1
fi
step "prerequisites ok ($PYTHON with venv, ${MAKE:-make}, C++20 ${CXX:-c++}, disk space)"

CURRENT_STEP=venv
if [[ ! -x $PY ]]; then
    step "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

CURRENT_STEP=base
if [[ -n ${TORCH_INDEX_URL:-} ]]; then
    want=${TORCH_INDEX_URL%/}; want=${want##*/}
    have=$("$PY" -c 'import torch; print(torch.__version__.partition("+")[2])' 2>/dev/null || true)
    if [[ $have != "$want" ]]; then
        step "installing torch/torchvision from $TORCH_INDEX_URL (+$want; had +${have:-none})"
        "${PIP[@]}" uninstall -q -y torch torchvision >/dev/null 2>&1 || true
        "${PIP[@]}" install -q -c "$CONSTRAINTS" --index-url "$TORCH_INDEX_URL" \
            --extra-index-url https://pypi.org/simple torch torchvision
    fi
fi
step "installing torch, numpy, opencv, mmengine (pinned)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" "setuptools==80.9.0" wheel ninja \
    torch torchvision numpy opencv-python-headless mmengine

CURRENT_STEP=mmcv
trap - ERR
mmcv_plan
trap fail ERR
if [[ $MMCV_ACTION == keep ]]; then
    step "mmcv 2.0.1 kept: $MMCV_WHY"
else
    step "mmcv 2.0.1 ($MMCV_KEY): $MMCV_WHY"
    wheel_dir=$CACHE/wheels/$MMCV_KEY
    if ! ls "$wheel_dir"/mmcv-2.0.1-*.whl >/dev/null 2>&1; then
        step "building mmcv 2.0.1 with ops ($MMCV_KEY); takes ~7 min on 2 cores (CPU ops), longer with CUDA ops"
        build=$(mktemp -d)
        "${PIP[@]}" download -q --no-deps --no-binary :all: mmcv==2.0.1 -d "$build"
        tar -xzf "$build"/mmcv-2.0.1.tar.gz -C "$build"
        # torch 2.14 headers need C++20; mmcv 2.0.1 hard-codes C++14.
        sed -i 's/-std=c++14/-std=c++20/g' "$build"/mmcv-2.0.1/setup.py
        grep -q 'c++20' "$build"/mmcv-2.0.1/setup.py
        mkdir -p "$build/out"
        cuda_env=(FORCE_CUDA=0)
        if [[ $MMCV_CUDA == 1 ]]; then
            # torch's CUDA wheels bring headers (nvidia/cu*/include) that
            # mmcv's CUDA sources include; the toolkit's own come first.
            inc=$("$PY" -c 'import glob, os, torch; print(":".join(glob.glob(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), "nvidia", "cu*", "include"))))')
            cuda_env=(FORCE_CUDA=1 "TORCH_CUDA_ARCH_LIST=$MMCV_ARCH" "CPATH=${CPATH:+$CPATH:}$inc")
        fi
        (cd "$build/mmcv-2.0.1" && env "${cuda_env[@]}" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "${PIP[@]}" wheel -q --no-deps --no-build-isolation . -w "$build/out")
        mkdir -p "$wheel_dir"
        tmpw=$(mktemp -d "$wheel_dir/.tmp.XXXX")
        cp "$build"/out/mmcv-2.0.1-*.whl "$tmpw/" && mv "$tmpw"/*.whl "$wheel_dir/" && rmdir "$tmpw"
        rm -rf "$build"
    else
        step "using cached mmcv wheel $wheel_dir"
    fi
    # mmcv-lite (pure python) and mmcv share the `mmcv` folder: never keep both.
    "${PIP[@]}" uninstall -q -y mmcv-lite mmcv >/dev/null 2>&1 || true
    "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel_dir"/mmcv-2.0.1-*.whl
    "${PIP[@]}" install -q -c "$CONSTRAINTS" addict packaging Pillow pyyaml yapf
    "$PY" -c "import mmcv.ops; from mmcv.ops import RoIAlign, nms"
    echo "$MMCV_KEY" > "$MMCV_RECORD.tmp" && mv "$MMCV_RECORD.tmp" "$MMCV_RECORD"
    trap - ERR
    mmcv_plan  # the installed build must now be the wanted one
    trap fail ERR
    if [[ $MMCV_ACTION != keep ]]; then
        echo "[setup_env] installed mmcv is not the wanted build: $MMCV_WHY" >&2
        false
    fi
fi

CURRENT_STEP=openmmlab
step "installing mmcls, mmselfsup, mmdet, mmsegmentation"
"${PIP[@]}" install -q -c "$CONSTRAINTS" -r requirements/runtime.txt -r requirements/tests.txt

CURRENT_STEP=opencv
# mmengine/mmcv depend on `opencv-python`; both builds share the `cv2` folder,
# so keep only the headless one (no GUI libraries needed).
if "$PY" -m pip show -q opencv-python >/dev/null 2>&1; then
    step "replacing opencv-python by opencv-python-headless"
    "${PIP[@]}" uninstall -q -y opencv-python
    "${PIP[@]}" install -q --no-deps --force-reinstall -c "$CONSTRAINTS" opencv-python-headless
fi

CURRENT_STEP=pico_mm
step "installing pico_mm (editable)"
"${PIP[@]}" install -q -c "$CONSTRAINTS" --no-deps --no-build-isolation -e .

CURRENT_STEP=check
"$PY" -c "import pico_mm, mmselfsup, mmseg, mmdet, cv2, numpy; from mmcv.ops import RoIAlign, nms; assert numpy.__version__ == '1.26.4', numpy.__version__"
"$PY" scripts/cuda_build_plan.py verify
printf '%s\n%s\n' "$stamp_hash" "$MMCV_KEY" > "$VENV/.pico_mm_stamp.tmp"
mv "$VENV/.pico_mm_stamp.tmp" "$VENV/.pico_mm_stamp"
step "done: $VENV (mmcv $MMCV_KEY)"
