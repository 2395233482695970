#!/usr/bin/env bash
# The gpu_teacher_full grid on a lent GPU machine, from the carried corpus
# bundle (recipes/device_bundle.py) and teacher (.carry/, fp16 weights,
# restored to fp32). Runs that end after DEADLINE seconds are stopped;
# finished ones are archived. Returns grid_runs/gpu_teacher_full and the
# run folders (checkpoints, for scoring the DNS set on the CPU) under OUT.
# Usage: OUT=... bash recipes/device_students.sh [DEADLINE] [JOBS]
# (EXTRA: more grid overrides, e.g. "--overrides={device: cpu, ...}" for a
# check on the CPU with another archive_folder)
set -uo pipefail
DEADLINE=${1:-270}; JOBS=${2:-10}; OUT=${OUT:-/tmp/out}; T0=$(date +%s)
PY=${PY:-python3}; DATA_DIR=${DATA_DIR:-/tmp/data}; EXTRA=${EXTRA:-}
mkdir -p "$OUT"
if [ -d .whl ] && [ "${SKIP_WHEELS:-0}" != 1 ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
$PY recipes/device_bundle.py unpack .bundle "$DATA_DIR" > /tmp/data.json || exit 5
DATA=$($PY -c "import json;print(json.load(open('/tmp/data.json'))['data_folder'])")
TEACHER=results/gpu_teachers/teacher_full_b16  # the grid's teacher.folder
mkdir -p $TEACHER
$PY -c "
import torch
state = torch.load('.carry/teacher_full_fp16.ckpt')
torch.save({k: v.float() if v.is_floating_point() else v
            for k, v in state.items()}, '$TEACHER/model.ckpt')
" || exit 6
echo "ready after $(( $(date +%s) - T0 )) s"
timeout $(( DEADLINE - ($(date +%s) - T0) )) $PY recipes/experiment.py \
  gpu_teacher_full --data_folder="$DATA" --jobs="$JOBS" $EXTRA \
  > "$OUT/grid.log" 2>&1
echo "grid exit $? after $(( $(date +%s) - T0 )) s"
tar czf "$OUT/runs.tar.gz" --exclude=enhanced --exclude=manifests \
  --exclude=kd_method.ckpt --exclude=optimizer.ckpt \
  grid_runs/gpu_teacher_full results/grid/gpu_teacher_full
tail -c 4000 "$OUT/grid.log"; ls -la "$OUT"
echo "total $(( $(date +%s) - T0 )) s"
