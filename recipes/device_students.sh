#!/usr/bin/env bash
# A grid of students on a lent GPU machine, from the carried corpus bundle
# (recipes/device_bundle.py) and, for gpu_teacher_full, the teacher in
# .carry/ (fp16 weights, restored to fp32). Runs that end after DEADLINE
# seconds are stopped; finished ones are archived. Returns the grid's
# archive and its run folders (checkpoints, for scoring the DNS set on
# the CPU with recipes/score_returned.py) as OUT/runs.tar.gz.
# Usage: OUT=... bash recipes/device_students.sh [GRID] [DEADLINE] [JOBS]
# GRID: gpu_teacher_full (default) or gpu_methods. EXTRA: more grid
# overrides, e.g. "--overrides={device: cpu, ...}" for a check on the CPU
# with another archive_folder.
set -uo pipefail
GRID=${1:-gpu_teacher_full}; DEADLINE=${2:-270}; JOBS=${3:-10}
OUT=${OUT:-/tmp/out}; T0=$(date +%s)
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
if [ "$GRID" = gpu_teacher_full ]; then
  TEACHER=results/gpu_teachers/teacher_full_b16  # the grid's teacher.folder
  mkdir -p $TEACHER
  $PY -c "
import torch
state = torch.load('.carry/teacher_full_fp16.ckpt')
torch.save({k: v.float() if v.is_floating_point() else v
            for k, v in state.items()}, '$TEACHER/model.ckpt')
" || exit 6
fi
echo "ready after $(( $(date +%s) - T0 )) s"
timeout $(( DEADLINE - ($(date +%s) - T0) )) $PY recipes/experiment.py \
  "$GRID" --data_folder="$DATA" --jobs="$JOBS" $EXTRA \
  > "$OUT/grid.log" 2>&1
echo "grid exit $? after $(( $(date +%s) - T0 )) s"
tar czf "$OUT/runs.tar.gz" --exclude=enhanced --exclude=manifests \
  --exclude=kd_method.ckpt --exclude=optimizer.ckpt \
  "grid_runs/$GRID" "results/grid/$GRID"
tail -c 4000 "$OUT/grid.log"; ls -la "$OUT"
echo "total $(( $(date +%s) - T0 )) s"
