#!/usr/bin/env bash
# The unlearning matrix (bench/unlearn_matrix.sh; docs/unlearning.md, "How close to gold") on a lent GPU
# machine, from a bundle made here by bench/gpu_bundle.sh (that machine has the CUDA toolkit but none of our
# build dependencies). Unpacks the bundle, runs its CUDA tests (bench/gpu_run.sh, no kernel benchmarks) beside
# the grid, runs the whole grid with DEVICE=cuda (originals, golds and MMRecUn on the GPU; audits on the CPU
# cores), and leaves in $OUT the tables (matrix-tables.md), the test log and every run's logs and reports
# without model files (matrix-runs.tar.gz).
#
#   bench/gpu_matrix.sh BUNDLE.tar.gz SHARED_DATA_DIR      # SHARED_DATA_DIR holds scientific/ and tiktok/
#
# Environment: TESTS=0 skips the CUDA tests; JOBS (processes at a time, default 10), MATRIX_SECONDS (the grid's time limit, default 420; an
# unfinished grid still leaves the tables of what ran), and unlearn_matrix.sh's DATASETS / MODELS / KINDS.
name=gpu-matrix
# shellcheck source=bench/gpu_unpack.sh
source "$(dirname "$0")/gpu_unpack.sh" "$@"
if [ "${TESTS:-1}" = 1 ]; then
  (BENCH=0 OMP_NUM_THREADS=4 "$here/run.sh" > "$out/gpu-tests.log" 2>&1; echo "tests rc=$?" >> "$out/gpu-tests.log") &
else
  echo "tests not run (TESTS=0)" > "$out/gpu-tests.log"
fi
start=$(date +%s)
OUT=$work DEVICE=${DEVICE:-cuda} JOBS=${JOBS:-10} SHARED=$shared OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
  timeout "${MATRIX_SECONDS:-420}" "$root/bench/unlearn_matrix.sh" "$here/bin/lethe" > "$out/matrix.log" 2>&1
echo "matrix rc=$? after $(( $(date +%s) - start )) s" >> "$out/matrix.log"
wait
python3 "$root/bench/unlearn_matrix_table.py" "$work" ${DATASETS:-scientific tiktok baby} > "$out/matrix-tables.md" 2>&1
tar czf "$out/matrix-runs.tar.gz" --exclude='*.safetensors' --exclude='data-baby' -C /tmp gpu-matrix
grep -E "PASSED|FAILED|SKIPPED|gpu_check|rc=" "$out/gpu-tests.log"
tail -n 3 "$out/matrix.log"
cat "$out/matrix-tables.md"
