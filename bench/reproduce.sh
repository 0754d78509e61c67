#!/usr/bin/env bash
# One command for every CPU table in bench/RESULTS.md: builds the CPU benchmark targets (build/bench),
# generates the Baby-shaped synthetic set (lethe gen --preset baby --seed 1), then runs
#   1. the kernel microbenchmarks     build/bench/engine_bench
#   2. the end-to-end benchmark       lethe bench --busy: each model's epoch and evaluation beside its floor
#                                     (GEMM rate and copy bandwidth measured in the same run), busy / quiet
#                                     ratios (odd epochs beside one CPU-bound process), peak memory / state;
#                                     LightGCN 3 layers, FREEDOM (batch-row and dense projection), MGCN; and
#                                     FREEDOM and MGCN on the real sets in REAL (scientific, tiktok) if given
#   3. the profile of one epoch each  lethe bench --profile --epochs 1 (and a trace: build/bench/results/*.trace.json)
#   4. the PyTorch side by side       bench/side_by_side.sh (skipped when torch is not importable)
#   5. MMRecUn against gold           lethe bench --unlearn
# and leaves the raw outputs (logs, JSON) in build/bench/results/, with the markdown tables of RESULTS.md
# (bench/results_md.py) in build/bench/results/tables.md. Expect 20-40 minutes on 2 cores. The GPU figures
# come from bench/gpu_check.sh on a GPU machine instead.
#
#   bench/reproduce.sh                 # everything
#   EPOCHS=5 STEPS="e2e" REAL=/path/to/data bench/reproduce.sh
#
# Environment: EPOCHS (5; --busy needs >= 3), STEPS ("micro e2e profile side unlearn"), JOBS (nproc), DATA
# (build/bench/data/baby), REAL (a directory holding scientific/ and tiktok/ MMRec data sets; optional),
# RES (output directory, build/bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-5}
STEPS=${STEPS:-"micro e2e profile side unlearn"}
REAL=${REAL:-}
JOBS=${JOBS:-$(nproc)}
BUILD=build/bench
DATA=${DATA:-$BUILD/data/baby}
RES=${RES:-$BUILD/results}
mkdir -p "$RES"

has() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

echo "== machine =="
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$RES/machine.txt"

echo "== build =="
cmake -S . -B "$BUILD" -DBLA_VENDOR=OpenBLAS -DLETHE_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=(lethe)
has micro && targets+=(engine_bench)
cmake --build "$BUILD" --target "${targets[@]}" -j"$JOBS"
LETHE=$BUILD/lethe

if [ ! -d "$DATA" ]; then
  mkdir -p "$(dirname "$DATA")"
  "$LETHE" gen --preset baby --seed 1 --out "$DATA"
fi

if has micro; then
  echo "== 1. kernel microbenchmarks =="
  "$BUILD/engine_bench" --benchmark_min_time=0.5 --benchmark_out="$RES/engine_bench.json" \
    --benchmark_out_format=json | tee "$RES/engine_bench.txt"
fi

if has e2e; then
  echo "== 2. end to end, beside the floors, busy / quiet =="
  "$LETHE" bench --data "$DATA" --models lightgcn/n_layers=3,freedom,freedom/feature_projection=dense,mgcn \
    --epochs "$EPOCHS" --busy --json "$RES/e2e_baby.json" | tee "$RES/e2e_baby.txt"
  if [ -n "$REAL" ]; then
    for d in scientific tiktok; do
      [ -d "$REAL/$d" ] || continue
      "$LETHE" bench --data "$REAL/$d" --models freedom,mgcn --epochs "$EPOCHS" --busy \
        --json "$RES/e2e_$d.json" | tee "$RES/e2e_$d.txt"
    done
  fi
fi

if has profile; then
  echo "== 3. profile and trace (one epoch each) =="
  "$LETHE" bench --data "$DATA" --models lightgcn/n_layers=3,freedom,mgcn --epochs 1 --profile \
    --trace "$RES/baby.trace.json" | tee "$RES/profile.txt"
fi

if has side; then
  echo "== 4. PyTorch side by side =="
  LETHE=$LETHE DATA=$DATA EPOCHS=$EPOCHS OUT=$RES/side_by_side bench/side_by_side.sh | tee "$RES/side_by_side.txt"
fi

if has unlearn; then
  echo "== 5. MMRecUn against gold =="
  "$LETHE" bench --data "$DATA" --models lightgcn/n_layers=3,freedom,mgcn --epochs 3 --unlearn \
    --json "$RES/unlearn.json" | tee "$RES/unlearn.txt"
fi
echo "== markdown for bench/RESULTS.md =="
/usr/bin/python3 bench/results_md.py "$RES" | tee "$RES/tables.md"
echo "reproduce: outputs in $RES"
