#!/usr/bin/env bash
# The test command (README, .ci/run): installs missing Debian packages, builds the release preset (CUDA
# backend included when nvcc exists), runs the whole ctest suite (CUDA tests report *skipped* without a GPU)
# and prints the fault tests' trial counts, then runs each libFuzzer target for a bounded time
# (scripts/fuzz.sh; FUZZ_SECONDS per target, default 12).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
rm -f build/release/fault_report.txt
ctest --preset release -j2 "$@"
if [ -f build/release/fault_report.txt ]; then
  echo "== fault tests (tests/faults) =="
  cat build/release/fault_report.txt
fi
echo "== fuzzing (tests/fuzz) =="
scripts/fuzz.sh "${FUZZ_SECONDS:-12}"
