#!/usr/bin/env bash
# Runs the CUDA checks from a bundle made by bench/gpu_bundle.sh (see there): every CUDA test, then the CUDA
# kernel benchmarks and, when the bundle has `lethe` and DATA is set, a short GPU training run; one table last.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
# cuBLAS / cuSPARSE / cudart: the toolkit's, or else the copies inside the machine's Python packages.
for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcusparse.so.12 libnvJitLink.so.13; do
  if ! ldconfig -p | grep -q "$so" && ! ls /usr/local/cuda/lib64/$so >/dev/null 2>&1; then
    d=$(find / -name "$so" -not -path '/proc/*' 2>/dev/null | head -n 1 | xargs -r dirname)
    [ -n "$d" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
  fi
done
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
[ -x "$here/bin/cuda_bench" ] && { timeout 180 "$here/bin/cuda_bench" || failed+=(cuda_bench); }
echo "== summary =="
if [ ${#failed[@]} -eq 0 ]; then echo "gpu_check: OK"; else echo "gpu_check: FAILED (${failed[*]})"; exit 1; fi
