#!/usr/bin/env bash
# Slurm training (mmselfsup's shape):
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args, e.g. --work-dir DIR]
# GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS may be set;
# PYTHON selects the interpreter (default: python), e.g. PYTHON=.venv/bin/python.
set -euo pipefail
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=("${@:4}")
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python}
# shellcheck disable=SC2086  # SRUN_ARGS is a list of options
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" \
srun -p "${PARTITION}" --job-name="${JOB_NAME}" --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" --kill-on-bad-exit=1 ${SRUN_ARGS} \
    "$PYTHON" -u "$DIR/train.py" "$CONFIG" --launcher=slurm "${PY_ARGS[@]}"
