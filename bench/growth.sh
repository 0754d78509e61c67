#!/usr/bin/env bash
# How each phase's time and memory grow with the data (docs/scaling.md, "How cost grows"): generates the
# Clothing shape at each scale of SCALES (`lethe gen --scale`), measures every phase with
# bench/growth_phases (one process per size) and prints the table with the fitted growth exponents
# (bench/growth_table.py). Then times one LightGCN epoch on 1 and 2 MPI ranks at the largest size.
#
#   bench/growth.sh                       # build/cpu, SCALES="0.03125 0.0625 0.125 0.25 0.5"
#   BUILD=build/release SCALES="0.25 0.5 1" bench/growth.sh
#
# One thread per process by default (OMP_NUM_THREADS=1): on a shared machine, OpenMP threads that wait for a
# busy core make the small sizes 10-20x slower and the fit meaningless (an epoch of 0.08 s took 1.5 s with 2
# threads at load 10); the growth exponents are what this measures.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/cpu}
OUT=${OUT:-$BUILD/growth}
SCALES=${SCALES:-"0.03125 0.0625 0.125 0.25 0.5"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mkdir -p "$OUT"
files=()
for s in $SCALES; do
  d="$OUT/clothing-x$s"
  [ -f "$d/SOURCE.md" ] || "$BUILD/lethe" gen --preset clothing --scale "$s" --seed 1 --out "$d" >/dev/null
  echo "== scale $s" >&2
  "$BUILD/bench/growth_phases" --data "$d" > "$OUT/phases-x$s.json"
  files+=("$OUT/phases-x$s.json")
done
python3 bench/growth_table.py "${files[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if command -v mpirun >/dev/null && "$BUILD/lethe" info --data "$d" | grep -q "built with mpi yes"; then
  echo
  echo "LightGCN, 2 epochs on $d, $OMP_NUM_THREADS thread(s) per rank (train seconds per epoch, from run.json):"
  for np in 1 2; do
    rm -rf "$OUT/dp-np$np"
    mpirun --oversubscribe --allow-run-as-root -np "$np" "$BUILD/lethe" train --data "$d" --model lightgcn \
      --epochs 2 --quiet --out "$OUT/dp-np$np" >/dev/null
    python3 -c "import json,sys; print('  ranks $np:', round(json.load(open(sys.argv[1]))['summary']['train_seconds_per_epoch'], 3), 's')" \
      "$OUT/dp-np$np/run.json"
  done
fi
