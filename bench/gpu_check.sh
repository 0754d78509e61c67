#!/usr/bin/env bash
# The GPU check: run this when a GPU machine is lent. Configures and builds the CUDA backend into build/gpu,
# runs every CUDA test (CPU <-> CUDA parity for each kernel, allocator, device plumbing) and then the CUDA
# kernel benchmarks, printing one short table. Budget: under 8 minutes on an H100 (most of it the build).
#
#   bench/gpu_check.sh                 # from the repository root (or anywhere: it cds there)
#   BUILD=build/gpu JOBS=16 bench/gpu_check.sh
#
# Expected output, in order:
#   == GPU ==              nvidia-smi -L, e.g. "GPU 0: NVIDIA H100 80GB HBM3 (UUID: ...)"
#   == build ==            cmake configure + build of test_engine and cuda_bench (then the other tests)
#   == tests ==            for each test_* executable: "[  PASSED  ] N tests." over the *Cuda* tests;
#                          nothing may say SKIPPED here (a skip means no usable device: a failed check)
#   == benchmarks ==       Google Benchmark lines, then "== lethe CUDA kernels (F32) ==" with the table
#                          documented at the top of bench/cuda_bench.cpp (SpMM as % of copy bandwidth)
#   == summary ==          "gpu_check: OK" or "gpu_check: FAILED (<steps>)"; exit status 0 only when OK.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/gpu}
JOBS=${JOBS:-16}
FILTER='*Cuda*:*cuda*:*CUDA*'
failed=()

echo "== GPU =="
nvidia-smi -L || failed+=("nvidia-smi")

echo "== build =="
if ! timeout 300 cmake -S . -B "$BUILD" -DBLA_VENDOR=OpenBLAS -DLETHE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null; then
  echo "gpu_check: configure FAILED"; exit 1
fi
if ! timeout 300 cmake --build "$BUILD" --target test_engine cuda_bench -j"$JOBS"; then
  echo "gpu_check: build FAILED"; exit 1
fi
# The other test executables may hold CUDA tests too (autograd, models...); build what builds.
others=$(cmake --build "$BUILD" --target help 2>/dev/null | grep -o 'test_[a-z_]*' | sort -u | grep -v '^test_engine$')
for t in $others; do
  timeout 240 cmake --build "$BUILD" --target "$t" -j"$JOBS" >/dev/null 2>&1 || echo "note: $t did not build; its CUDA tests are not run"
done

echo "== tests =="
for exe in "$BUILD"/tests/test_*; do
  [ -x "$exe" ] || continue
  echo "-- $(basename "$exe") --gtest_filter=$FILTER"
  out=$(OMP_NUM_THREADS=8 timeout 180 "$exe" --gtest_filter="$FILTER" 2>&1)
  rc=$?
  echo "$out" | tail -n 40
  [ $rc -eq 0 ] || failed+=("$(basename "$exe")")
  if echo "$out" | grep -q '\[  SKIPPED \]'; then failed+=("$(basename "$exe") skipped tests"); fi
done

echo "== benchmarks =="
if [ -x "$BUILD/bench/engine_bench" ] && "$BUILD/bench/engine_bench" --benchmark_list_tests 2>/dev/null | grep -qi cuda; then
  timeout 120 "$BUILD/bench/engine_bench" --benchmark_filter='[Cc]uda' || failed+=("engine_bench")
fi
timeout 180 "$BUILD/bench/cuda_bench" || failed+=("cuda_bench")

echo "== summary =="
if [ ${#failed[@]} -eq 0 ]; then
  echo "gpu_check: OK"
else
  echo "gpu_check: FAILED (${failed[*]})"
  exit 1
fi
