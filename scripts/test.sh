#!/usr/bin/env bash
# The test command (README, .ci/run): installs missing Debian packages, builds the release preset (CUDA
# backend included when nvcc exists), and runs the whole ctest suite. CUDA tests report *skipped* without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
ctest --preset release -j2 "$@"
