#!/usr/bin/env bash
# Model-level GPU runs from a bundle (bench/gpu_bundle.sh), after bench/gpu_run.sh's kernel checks:
#  1. per-epoch training / evaluation time on Baby-shaped synthetic data (LightGCN 3 layers, FREEDOM, MGCN),
#     on the GPU and, for comparison in the same run, on the machine's CPU cores;
#  2. accuracy runs to early stopping on real data when REAL=DIR holds MMRec folders (baby, scientific,
#     tiktok): LightGCN on baby; LightGCN, FREEDOM and MGCN on scientific and tiktok.
# Logs go to $OUT (or /tmp/gpu-models) as one tarball; a summary table is printed last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lethe="$here/bin/lethe"
logs=/tmp/gpu-models; mkdir -p "$logs"
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
EPOCHS=${EPOCHS:-3}
syn=/tmp/lethe-baby
[ -d "$syn" ] || OMP_NUM_THREADS=16 timeout 120 "$lethe" gen --preset baby --seed 1 --out "$syn" > "$logs/gen.log" 2>&1
job() {  # name, timeout, device, threads, args...
  local name=$1 t=$2 dev=$3 th=$4; shift 4
  OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th timeout "$t" "$lethe" train --device "$dev" "$@" \
    --out "/tmp/run-$name" > "$logs/$name.log" 2>&1
  echo "rc=$?" >> "$logs/$name.log"
}
# Real-data accuracy runs in the background (GPU), while the timing runs go in the foreground.
if [ -n "${REAL:-}" ]; then
  job real-baby-lightgcn 330 cuda 2 --data "$REAL/baby" --model lightgcn --set n_layers=3 --epochs 400 &
  ( for d in scientific tiktok; do for m in lightgcn freedom mgcn; do
      job "real-$d-$m" 50 cuda 2 --data "$REAL/$d" --model $m --epochs 300
    done; done ) &
fi
for spec in "lightgcn --set n_layers=3" "freedom" "mgcn"; do
  m=${spec%% *}
  job "syn-gpu-$m" 60 cuda 4 --data "$syn" --model $spec --epochs "$EPOCHS"
  job "syn-cpu16-$m" 60 cpu 8 --data "$syn" --model $spec --epochs 2
done
wait
echo "== epoch lines =="
for f in "$logs"/*.log; do
  echo "-- $(basename "$f" .log)"
  grep -E "^epoch [0-9]+ (training|evaluating)" "$f" | head -n 4
  grep -E "^epoch [0-9]+ (training|evaluating)" "$f" | tail -n 2
  grep -iE "best test|stopped|error|rc=" "$f" | tail -n 4
done
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-models-logs.tar.gz" -C /tmp gpu-models
