#!/usr/bin/env bash
# Builds the CUDA targets on this (GPU-less) machine and packs them, with the non-CUDA shared libraries they
# need, into build/gpu-bundle.tar.gz, for a lent GPU machine that has the CUDA toolkit but none of our
# Debian build dependencies (OpenBLAS, yaml-cpp...) and no network. On that machine:
#   tar xzf build/gpu-bundle.tar.gz -C /tmp && /tmp/gpu-bundle/run.sh
# runs the same checks as bench/gpu_check.sh from the prebuilt binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/cuda}
TARGETS=${TARGETS:-"test_engine test_autograd test_models test_datasets cuda_bench lethe"}
cmake -S . -B "$BUILD" -DBLA_VENDOR=OpenBLAS -DLETHE_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target $TARGETS -j"${JOBS:-2}"
out=build/gpu-bundle
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
for t in $TARGETS; do
  for f in "$BUILD/tests/$t" "$BUILD/bench/$t" "$BUILD/$t"; do [ -x "$f" ] && [ -f "$f" ] && cp "$f" "$out/bin/"; done
done
# Shared libraries other than glibc and the CUDA toolkit's (the GPU machine has those).
for b in "$out"/bin/*; do
  ldd "$b" | awk '/=> \// {print $3}' | grep -v -E '/usr/local/cuda|libc\.so|libm\.so|libdl\.so|libpthread|librt\.so|libstdc\+\+|libgcc_s|ld-linux' || true
done | sort -u | while read -r lib; do cp -L "$lib" "$out/lib/"; done
cp bench/gpu_env.sh "$out/env.sh"; cp bench/gpu_run.sh "$out/run.sh"; cp bench/gpu_models.sh "$out/models.sh"; cp bench/gpu_unlearn.sh "$out/unlearn.sh"
tar czf build/gpu-bundle.tar.gz -C build gpu-bundle
ls -la build/gpu-bundle.tar.gz
