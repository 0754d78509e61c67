# Sourced by the GPU bundle's scripts (bench/gpu_bundle.sh): the bundle's own shared libraries first, then the
# CUDA toolkit's cuBLAS / cuSPARSE / cudart, or else the copies inside the machine's Python packages.
here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcusparse.so.12 libnvJitLink.so.13; do
  if ! ldconfig -p | grep -q "$so" && ! ls /usr/local/cuda/lib64/$so >/dev/null 2>&1; then
    d=$(find / -name "$so" -not -path '/proc/*' 2>/dev/null | head -n 1 | xargs -r dirname)
    [ -n "$d" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
  fi
done
