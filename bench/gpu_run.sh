#!/usr/bin/env bash
# Runs the CUDA checks from a bundle made by bench/gpu_bundle.sh (see there): every CUDA test, then the CUDA
# kernel benchmarks and, when the bundle has `lethe` and DATA is set, a short GPU training run; one table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/gpu_env.sh
source "$here/env.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
FILTER='*Cuda*:*cuda*:*CUDA*:*Parity*'
failed=()
echo "== GPU =="; nvidia-smi -L || failed+=(nvidia-smi)
echo "== tests =="
for exe in "$here"/bin/test_*; do
  echo "-- $(basename "$exe")"
  out=$(timeout 300 "$exe" --gtest_filter="$FILTER" 2>&1); rc=$?
  echo "$out" | grep -E '^\[  (FAILED|SKIPPED|PASSED) |Failure|error|Expected|Which is|actual' | head -n 60
  [ $rc -eq 0 ] || failed+=("$(basename "$exe")")
  echo "$out" | grep -q '\[  SKIPPED \]' && failed+=("$(basename "$exe")-skipped")
done
echo "== benchmarks =="
# BENCH=0 skips the kernel benchmarks (tests only).
[ "${BENCH:-1}" = 1 ] && [ -x "$here/bin/cuda_bench" ] && { timeout 180 "$here/bin/cuda_bench" || failed+=(cuda_bench); }
echo "== summary =="
if [ ${#failed[@]} -eq 0 ]; then echo "gpu_check: OK"; else echo "gpu_check: FAILED (${failed[*]})"; exit 1; fi
