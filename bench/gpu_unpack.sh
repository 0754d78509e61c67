# Sourced by the bench/gpu_*.sh scripts that run from a bundle (bench/gpu_bundle.sh) on a lent GPU machine,
# with `name` set and the script's arguments BUNDLE.tar.gz SHARED_DATA_DIR: unpacks the bundle into
# /tmp/gpu-bundle and sets root (this repository), bundle, shared (the data sets), out (${OUT:-/tmp/NAME-out}),
# work (/tmp/NAME) and here (the unpacked bundle); loads the bundle's library paths and names the GPU.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle=$(realpath "$1")
shared=$(realpath "$2")
out=${OUT:-/tmp/$name-out}
work=/tmp/$name
mkdir -p "$out" "$work"
tar xzf "$bundle" -C /tmp
here=/tmp/gpu-bundle
# shellcheck source=bench/gpu_env.sh
source "$here/env.sh"
nvidia-smi -L || echo "no nvidia-smi"
