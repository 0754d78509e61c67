#!/usr/bin/env bash
# The unlearning matrix (docs/unlearning.md, "How close to gold"): for each data set x model x
# request, the original (trained to early stopping), gold (retrained from scratch on D_r to early stopping),
# MMRecUn (default options) and the audit, then one Markdown table per data set (bench/unlearn_matrix_table.py).
#
#   bench/unlearn_matrix.sh [LETHE_BINARY]
#
# Environment:
#   OUT       output directory (default build/bench/unlearn-matrix); every step is skipped when its output
#             exists, so an interrupted run resumes, and MMRecUn alone can be rerun by deleting mmrecun-* dirs
#   DATASETS  default "scientific tiktok baby"; scientific and tiktok are read from SHARED (default
#             ../shared/data; research-only data, never copied into the repository), baby is generated
#             (`lethe gen --preset baby --seed 1`, synthetic stand-in features, 40-epoch cap as before)
#   MODELS    default "lightgcn freedom mgcn"
#   KINDS     default "user item item-drop interaction interaction-core interaction-edge modality-image
#             modality-audio" (core/edge interactions for FREEDOM only; audio on tiktok only)
#   JOBS      processes at a time (default 2), each single-threaded; DEVICE (default cpu)
#   STAGE     "all" (default), "gold" (originals and golds only), "mmrecun" (MMRecUn and audits only)
#   MMRECUN_ARGS extra options for the MMRecUn runs
set -euo pipefail
lethe=$(realpath "${1:-build/release/lethe}")
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-build/bench/unlearn-matrix}
shared=${SHARED:-$here/../../shared/data}
datasets=${DATASETS:-scientific tiktok baby}
models=${MODELS:-lightgcn freedom mgcn}
kinds=${KINDS:-user item item-drop interaction interaction-core interaction-edge modality-image modality-audio}
jobs=${JOBS:-2}
device=${DEVICE:-cpu}
stage=${STAGE:-all}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$out"

# The request file of a kind (written once per data set; seed 1, 5% of the population).
request_args() {
  case $1 in
    user) echo "--kind user" ;;
    item) echo "--kind item" ;;
    item-drop) echo "--kind item --drop" ;;
    interaction) echo "--kind interaction" ;;
    interaction-core) echo "--kind interaction --select core" ;;
    interaction-edge) echo "--kind interaction --select edge" ;;
    modality-image) echo "--kind modality --modality image" ;;
    modality-audio) echo "--kind modality --modality audio" ;;
  esac
}
# Whether a (data set, model, kind) cell is part of the grid.
in_grid() {
  local ds=$1 m=$2 k=$3
  case $k in
    interaction-core|interaction-edge) [ "$m" = freedom ] ;;
    modality-audio) [ "$ds" = tiktok ] ;;
    *) true ;;
  esac
}

prepare() {  # data set: its directory and request files
  local ds=$1 dir
  if [ "$ds" = baby ]; then
    dir="$out/data-baby"
    [ -d "$dir" ] || "$lethe" gen --preset baby --seed 1 --out "$dir" > "$out/gen-baby.log"
  else
    dir=$(realpath "$shared/$ds")
  fi
  echo "$dir" > "$out/$ds.datadir"
  for k in $kinds; do
    [ "$k" = modality-audio ] && [ "$ds" != tiktok ] && continue
    local f="$out/$ds-req-$k.tsv"
    # shellcheck disable=SC2046
    [ -f "$f" ] || "$lethe" request --data "$dir" $(request_args "$k") --fraction 0.05 --seed 1 --out "$f" \
      > "$out/$ds-req-$k.log"
  done
}

epochs_cap() { [ "$1" = baby ] && echo "--epochs 40" || true; }

original() {  # ds model
  local ds=$1 m=$2 dir; dir=$(cat "$out/$ds.datadir")
  local run="$out/$ds-$m-original"
  [ -f "$run/model.safetensors" ] && return 0
  rm -rf "$run"
  # shellcheck disable=SC2046
  "$lethe" train --data "$dir" --model "$m" --device "$device" $(epochs_cap "$ds") --out "$run" > "$run.log" 2>&1
}

gold() {  # ds model kind
  local ds=$1 m=$2 k=$3 run="$out/$1-$2-gold-$3"
  [ -f "$run/model.safetensors" ] && return 0
  rm -rf "$run"
  "$lethe" unlearn --run "$out/$ds-$m-original" --request "$out/$ds-req-$k.tsv" --method gold --device "$device" \
    --quiet --out "$run" > "$run.log" 2>&1
}

mmrecun() {  # ds model kind
  local ds=$1 m=$2 k=$3 run="$out/$1-$2-mmrecun-$3"
  [ -f "$run/model.safetensors" ] && return 0
  rm -rf "$run"
  # shellcheck disable=SC2086
  "$lethe" unlearn --run "$out/$ds-$m-original" --request "$out/$ds-req-$k.tsv" --method mmrecun --device "$device" \
    ${MMRECUN_ARGS:-} --out "$run" > "$run.log" 2>&1
}

audit() {  # ds model kind
  local ds=$1 m=$2 k=$3 rep="$out/$1-$2-audit-$3"
  [ -f "$rep/report.json" ] && [ "$rep/report.json" -nt "$out/$ds-$m-mmrecun-$k/model.safetensors" ] && return 0
  "$lethe" audit --request "$out/$ds-req-$k.tsv" --original "$out/$ds-$m-original" --gold "$out/$ds-$m-gold-$k" \
    --compare "mmrecun=$out/$ds-$m-mmrecun-$k" --out "$rep" > "$rep.log" 2>&1
}

cell() {  # ds model kind: what the stage asks for
  local ds=$1 m=$2 k=$3
  if [ "$stage" != mmrecun ]; then gold "$ds" "$m" "$k" || { echo "gold $ds $m $k failed: $out/$ds-$m-gold-$k.log"; return 1; }; fi
  if [ "$stage" != gold ]; then
    mmrecun "$ds" "$m" "$k" || { echo "mmrecun $ds $m $k failed: $out/$ds-$m-mmrecun-$k.log"; return 1; }
    audit "$ds" "$m" "$k" || { echo "audit $ds $m $k failed: $out/$ds-$m-audit-$k.log"; return 1; }
  fi
}

# A tiny job queue: at most $jobs commands at a time; a failure is reported and does not stop the others.
running=0
status=0
run_job() {
  if [ "$running" -ge "$jobs" ]; then wait -n || status=1; running=$((running - 1)); fi
  "$@" &
  running=$((running + 1))
}

for ds in $datasets; do prepare "$ds"; done
# Originals first (the golds and MMRecUn start from them), then every cell.
if [ "$stage" != mmrecun ]; then
  for ds in $datasets; do for m in $models; do run_job original "$ds" "$m"; done; done
  while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
fi
for ds in $datasets; do
  for m in $models; do
    [ -f "$out/$ds-$m-original/model.safetensors" ] || { echo "no original for $ds $m"; status=1; continue; }
    for k in $kinds; do in_grid "$ds" "$m" "$k" && run_job cell "$ds" "$m" "$k"; done
  done
done
while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done
[ "$stage" = gold ] || python3 "$here/unlearn_matrix_table.py" "$out" ${datasets}
exit $status
