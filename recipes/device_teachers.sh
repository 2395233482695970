#!/usr/bin/env bash
# Trains teachers on the lent GPU machine from the carried bundle.
# Usage: OUT=... bash recipes/device_teachers.sh MINUTES DEVICE
# (three teachers side by side, each on a budget of MINUTES of training,
# chosen afterwards on validation PESQ; their run folders come back in
# OUT as teachers.tar.gz.part*, without optimizer states)
set -uo pipefail
MIN=${1:-6}; DEV=${2:-cuda:0}; OUT=${OUT:-/tmp/out}; T0=$(date +%s)
PY=${PY:-python3}; RUNS=${RUNS:-/tmp/runs}; DATA_DIR=${DATA_DIR:-/tmp/data}
mkdir -p "$RUNS" "$OUT"
if [ -d .whl ] && [ "${SKIP_WHEELS:-0}" != 1 ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null
$PY -c "import torch, speechbrain, pesq, pystoi, soundfile; print(torch.__version__, speechbrain.__version__, torch.cuda.is_available())" || exit 4
$PY recipes/device_bundle.py unpack .bundle "$DATA_DIR" > /tmp/data.json || exit 5
DATA=$($PY -c "import json;print(json.load(open('/tmp/data.json'))['data_folder'])")
AMB=$($PY -c "import json;print(json.load(open('/tmp/data.json'))['extra_train_noise'][0])")
echo "unpacked in $(( $(date +%s) - T0 )) s"
train() {  # name, model, batch, then more overrides
  local name=$1 model=$2 batch=$3; shift 3
  OMP_NUM_THREADS=2 timeout $(( 560 - ($(date +%s) - T0) )) \
  $PY recipes/train.py hparams/train.yaml --device="$DEV" \
    --data_folder="$DATA" --model="!include:models/$model.yaml" \
    --train_data=dynamic --extra_train_noise="[$AMB]" --precision=bf16 \
    --batch_size="$batch" --steps_per_epoch=2000 --number_of_epochs=1000 --max_minutes="$MIN" \
    --train_dataloader_opts="{batch_size: $batch, num_workers: 3}" \
    --scoring_workers=2 --seed=1 --output_folder="$RUNS/$name" "$@" \
    > "$RUNS/$name.log" 2>&1
  echo "$name exit $? after $(( $(date +%s) - T0 )) s"
}
train teacher_cpu_b16 teacher_cpu 16 &
train teacher_cpu_b64 teacher_cpu 64 &
train teacher_full_b16 teacher_full 16 &
wait
cd "$RUNS" && for f in *.log; do tail -c 3000 "$f" > "$OUT/$f"; done
tar czf /tmp/teachers.tar.gz --exclude=optimizer.ckpt --exclude=enhanced \
  --exclude=manifests --exclude='*.log' .
split -b 15M /tmp/teachers.tar.gz "$OUT/teachers.tar.gz.part"
ls -la "$OUT"; echo "total $(( $(date +%s) - T0 )) s"
