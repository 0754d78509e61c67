#!/usr/bin/env bash
# Unlearning at Baby scale on the CPU (the table "Unlearning at Baby scale on the CPU" in bench/RESULTS.md):
# Baby-shaped synthetic data, each model trained for EPOCHS epochs (the same cap for the original and gold),
# a 5% user and a 5% item request, MMRecUn until forgotten and gold retraining, audited. Every process runs
# single-threaded and two run at a time, so two cores are used fully; on 2 cores the whole script takes
# about two hours (FREEDOM and MGCN, EPOCHS=40). Usage:
#   bench/unlearn_baby_cpu.sh [LETHE_BINARY]     env: OUT_DIR (default build/bench/unlearn-baby), MODELS
#   (default "freedom mgcn"), KINDS (default "user item"), EPOCHS (default 40), PRESET (default baby)
set -euo pipefail
lethe=${1:-build/release/lethe}
out=${OUT_DIR:-build/bench/unlearn-baby}
models=${MODELS:-freedom mgcn}
kinds=${KINDS:-user item}
epochs=${EPOCHS:-40}
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
data="$out/data-${PRESET:-baby}"
[ -d "$data" ] || "$lethe" gen --preset "${PRESET:-baby}" --seed 1 --out "$data" > "$out/gen.log"
for kind in $kinds; do
  "$lethe" request --data "$data" --kind "$kind" --fraction 0.05 --select random --seed 1 --out "$out/req-$kind.tsv" \
    > "$out/req-$kind.log"
done
pipeline() {  # model: original, then per request kind MMRecUn, gold and the audit
  local m=$1
  "$lethe" train --data "$data" --model "$m" --epochs "$epochs" --out "$out/orig-$m" > "$out/orig-$m.log" 2>&1
  for kind in $kinds; do
    "$lethe" unlearn --run "$out/orig-$m" --request "$out/req-$kind.tsv" --method mmrecun --until-forgotten \
      --max-epochs 60 --out "$out/mmrecun-$m-$kind" > "$out/mmrecun-$m-$kind.log" 2>&1
    "$lethe" unlearn --run "$out/orig-$m" --request "$out/req-$kind.tsv" --method gold --quiet \
      --out "$out/gold-$m-$kind" > "$out/gold-$m-$kind.log" 2>&1
    "$lethe" audit --request "$out/req-$kind.tsv" --original "$out/orig-$m" --gold "$out/gold-$m-$kind" \
      --compare "mmrecun=$out/mmrecun-$m-$kind" --out "$out/audit-$m-$kind" > "$out/audit-$m-$kind.log" 2>&1
  done
}
pids=()
for m in $models; do
  pipeline "$m" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for m in $models; do
  for kind in $kinds; do
    echo "== $m, 5% $kind request =="
    if [ -f "$out/audit-$m-$kind/report.md" ]; then sed -n '5,10p' "$out/audit-$m-$kind/report.md"; else
      echo "(no report: see $out/*-$m-$kind.log)"; status=1; fi
  done
done
exit $status
