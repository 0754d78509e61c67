#!/usr/bin/env bash
# Leaderboards of the unlearning benchmark (bench/unlearn_benchmark.sh; docs/benchmark.md) on a lent GPU
# machine, from a bundle made here by bench/gpu_bundle.sh: the blocks the 2-core machine cannot finish in a
# session (an FREEDOM or MGCN training on the Baby-shaped preset takes 15-65 minutes there, and a block trains
# about 20). The blocks run side by side with DEVICE=cuda (audits on the CPU cores), each under one time limit;
# each block's leaderboard is then written from what finished (TABLE_ONLY), saying which seeds a cell has.
# $OUT receives BLOCK/leaderboard.md and leaderboard.json per block and every log and audit report without
# model files (runs.tar.gz). Plots are drawn here from the JSON:
# bench/unlearn_benchmark_table.py plots BLOCK/leaderboard.json --plots DIR.
#
#   bench/gpu_leaderboards.sh BUNDLE.tar.gz SHARED_DATA_DIR     # SHARED_DATA_DIR holds scientific/ and tiktok/
#
# Environment: BLOCKS, DATA:MODEL pairs with DATA scientific, tiktok or baby (the Baby-shaped preset, generated
# there, every training capped at 40 epochs as on the CPU) ["baby:freedom baby:mgcn"]; SECONDS_LIMIT per block
# [480]; JOBS, processes per block [4]; unlearn_benchmark.sh's SEEDS, KINDS, METHODS, STREAM_N, STREAM_METHODS
# and EXTRA_SHARDS pass through.
name=gpu-leaderboards
# shellcheck source=bench/gpu_unpack.sh
source "$(dirname "$0")/gpu_unpack.sh" "$@"
export PYTHON=${PYTHON:-python3}  # the GPU machine's (without matplotlib the blocks write tables only)
blocks=${BLOCKS:-baby:freedom baby:mgcn}
if [[ " $blocks " == *" baby:"* ]] && [ ! -d "$work/data-baby" ]; then
  "$here/bin/lethe" gen --preset baby --seed 1 --out "$work/data-baby" > "$work/gen-baby.log" 2>&1 ||
    { echo "gen --preset baby failed:"; cat "$work/gen-baby.log"; exit 1; }
fi

block() {  # DATA MODEL: the block's runs, then the leaderboard of what finished
  local d=$1 m=$2 data=$shared/$1 train_args=""
  [ "$d" = baby ] && data=$work/data-baby && train_args="--epochs 40"
  local dir=$work/$d-$m
  OUT=$dir DATA=$data MODEL=$m TRAIN_ARGS="$train_args" DEVICE=${DEVICE:-cuda} JOBS=${JOBS:-4} \
    timeout "${SECONDS_LIMIT:-480}" "$root/bench/unlearn_benchmark.sh" "$here/bin/lethe" > "$work/$d-$m.log" 2>&1
  echo "rc=$? (124: stopped at the time limit)" > "$work/$d-$m.status"
  OUT=$dir DATA=$data MODEL=$m TABLE_ONLY=1 "$root/bench/unlearn_benchmark.sh" "$here/bin/lethe" \
    >> "$work/$d-$m.log" 2>&1
  mkdir -p "$out/$d-$m"
  cp "$dir/leaderboard.md" "$dir/leaderboard.json" "$out/$d-$m/" 2>/dev/null || true
}

for b in $blocks; do block "${b%%:*}" "${b#*:}" & done
wait
tar czf "$out/runs.tar.gz" --exclude='*.safetensors' --exclude='data-baby' -C /tmp gpu-leaderboards
for b in $blocks; do
  echo "== ${b/:/ }: $(cat "$work/${b/:/-}.status")"
  cat "$out/${b/:/-}/leaderboard.md" 2>/dev/null || echo "(no leaderboard)"
done
