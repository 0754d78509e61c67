#!/usr/bin/env bash
# Installs the Debian packages Lethe builds with, if any is missing (needs root or sudo; apt only).
set -euo pipefail
# clang, libclang-rt-14-dev (libFuzzer) and libomp-14-dev (OpenMP for clang) build the fuzz targets
# (scripts/fuzz.sh); util-linux (unshare) and e2fsprogs (chattr) serve the fault and read-only tests;
# clang-format checks the layout of the sources (scripts/check-format.sh, a test of the suite);
# libopenmpi-dev and openmpi-bin (mpirun) build and test the data-parallel ranks (docs/scaling.md).
pkgs=(cmake g++ libopenblas-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libyaml-cpp-dev
      nlohmann-json3-dev clang clang-format libclang-rt-14-dev libomp-14-dev util-linux e2fsprogs libopenmpi-dev
      openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
