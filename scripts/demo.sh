#!/usr/bin/env bash
# The main job (README): installs missing Debian packages, builds the release preset, then runs
# `lethe demo`: generate the tiny multi-modal data set, train, issue a 5% user request, unlearn with MMRecUn,
# retrain gold, audit, print the report. Outputs go to ./lethe-demo (or the directory given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-lethe-demo}"
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target lethe
build/release/lethe demo --out "$out"
