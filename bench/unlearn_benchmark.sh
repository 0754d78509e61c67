#!/usr/bin/env bash
# The unlearning benchmark (docs/benchmark.md): methods x request kinds (with random / core / edge
# selections) x seeds on one data set and backbone, audited against the original and gold, plus a
# sequential stream of single-user requests; then the leaderboard (Markdown + JSON) and the plots
# (bench/unlearn_benchmark_table.py).
#
#   bench/unlearn_benchmark.sh [LETHE_BINARY]
#
# Environment (defaults in brackets):
#   OUT        output directory [build/bench/unlearn-benchmark]; a step whose output exists is skipped, so an
#              interrupted run resumes
#   DATA       data set directory [../shared/data/scientific: research-only data, never copied into the repository]
#   MODEL      backbone [lightgcn]
#   TRAIN_ARGS more options of every `lethe train` here [none]; the Baby-shaped preset runs with "--epochs 40",
#              as in bench/unlearn_matrix.sh (golds retrain under the original's configuration, so the cap
#              holds for them too)
#   SEEDS      seeds of the original, the request and the method ["1 2 3"]
#   KINDS      request cells: KIND[-SELECTION] with KIND user|item|interaction and SELECTION random|core|edge
#              ["user item interaction interaction-core"]
#   FRACTION   share of the population each request forgets [0.05]
#   METHODS    methods besides gold ["mmrecun mmrecun-gate finetune neggrad influence sisa"] (mmrecun-gate:
#              mmrecun --rank-gate); sisa unlearns a sharded
#              original (SHARDS shards [4]) trained with the same seed
#   EXTRA_SHARDS  further sharded originals on the first seed for the utility cost of sharding, K or K:COMBINER
#              ["8 4:mean"]
#   STREAM_N   single-user requests in the stream [20]; STREAM_METHODS ["mmrecun finetune neggrad influence sisa"]
#   JOBS       processes at a time [2], each single-threaded
#   DEVICE     where training and unlearning run [cpu] (cuda on a GPU machine; the audits stay on the CPU)
#   PYTHON     interpreter of the table script [/usr/bin/python3: Debian's, where python3-matplotlib installs]
#   TABLE_ONLY 1: run nothing, only write the leaderboard of what OUT holds (a run stopped part-way, as
#              bench/gpu_leaderboards.sh does under its time limit) [0]
set -euo pipefail
lethe=$(realpath "${1:-build/cpu/lethe}")
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-build/bench/unlearn-benchmark}
data=$(realpath "${DATA:-$here/../../shared/data/scientific}")
model=${MODEL:-lightgcn}
seeds=${SEEDS:-1 2 3}
kinds=${KINDS:-user item interaction interaction-core}
fraction=${FRACTION:-0.05}
methods=${METHODS:-mmrecun mmrecun-gate finetune neggrad influence sisa}
shards=${SHARDS:-4}
extra_shards=${EXTRA_SHARDS:-8 4:mean}
stream_n=${STREAM_N:-20}
stream_methods=${STREAM_METHODS:-mmrecun finetune neggrad influence sisa}
jobs=${JOBS:-2}
device=${DEVICE:-cpu}
python=${PYTHON:-/usr/bin/python3}  # Debian's, for python3-matplotlib (without it: tables only)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "$out"
# An output directory whose stream was drawn with another STREAM_N is refused before anything runs: its
# finished streams would not match the list and would be redone on the old one.
if [ "$stream_n" -gt 0 ] && [ -f "$out/stream/list.txt" ]; then
  drawn=$(grep -c -v -e '^#' -e '^$' "$out/stream/list.txt" || true)
  if [ "$drawn" -ne "$stream_n" ]; then
    echo "unlearn_benchmark.sh: $out/stream/list.txt holds $drawn requests but STREAM_N=$stream_n;" \
      "set STREAM_N=$drawn, or remove $out/stream and $out/stream-* to draw a new stream" >&2
    exit 2
  fi
fi
first_seed=${seeds%% *}

running=0
status=0
run_job() {  # at most $jobs commands at a time; a failure is reported and does not stop the others
  if [ "$running" -ge "$jobs" ]; then wait -n || status=1; running=$((running - 1)); fi
  "$@" &
  running=$((running + 1))
}
drain() { while [ "$running" -gt 0 ]; do wait -n || status=1; running=$((running - 1)); done; }
logged() {  # LOG command...: runs, reports a failure with its log
  local log=$1; shift
  "$@" > "$log" 2>&1 || { echo "failed: $* (log: $log)"; return 1; }
}

train() {  # seed shards[:combiner]
  local s=$1 k=${2%%:*} comb="" run="$out/original-s$1-k$2" extra=""
  [[ "$2" == *:* ]] && comb=${2#*:} && run="$out/original-s$1-k$k-$comb"
  [ -f "$run/model.safetensors" ] && return 0
  [ "$k" -gt 1 ] && extra="--shards $k"
  [ -n "$comb" ] && extra="$extra --shard-combiner $comb"
  extra="$extra ${TRAIN_ARGS:-}"
  # shellcheck disable=SC2086
  logged "$run.log" "$lethe" train --data "$data" --model "$model" --seed "$s" --device "$device" $extra --quiet --out "$run" --force
}

request() {  # seed cell
  local s=$1 c=$2 kind=${2%%-*} sel=random f="$out/req-s$1-$2.tsv"
  [ "$c" != "$kind" ] && sel=${c#*-}
  [ -f "$f" ] || logged "$f.log" "$lethe" request --data "$data" --kind "$kind" --select "$sel" --fraction "$fraction" \
    --seed "$s" --out "$f"
}

method_args() {  # a method name, or a variant: mmrecun-gate = mmrecun with the ranking gate
  case $1 in
    mmrecun-gate) echo "--method mmrecun --rank-gate" ;;
    *) echo "--method $1" ;;
  esac
}

unlearn() {  # seed cell method
  local s=$1 c=$2 m=$3 run="$out/$3-s$1-$2" orig="$out/original-s$1-k1"
  [ "$m" = sisa ] && orig="$out/original-s$1-k$shards"
  [ -f "$run/model.safetensors" ] && return 0
  # shellcheck disable=SC2046
  logged "$run.log" "$lethe" unlearn --run "$orig" --request "$out/req-s$s-$c.tsv" $(method_args "$m") --seed "$s" --device "$device" \
    --quiet --out "$run" --force
}

audit() {  # seed cell: every method but sisa against the original and gold; sisa against its sharded original
           # and the same gold (--gold-original)
  local s=$1 c=$2 rep="$out/audit-s$1-$2" cmp=()
  for m in $methods; do
    [ "$m" != sisa ] && [ -f "$out/$m-s$s-$c/model.safetensors" ] && cmp+=(--compare "$m=$out/$m-s$s-$c")
  done
  # A report without a method that has a run since (an earlier failure, rerun) is redone.
  if [ -f "$rep/report.json" ]; then
    for m in $methods; do
      if [ "$m" != sisa ] && [ -f "$out/$m-s$s-$c/model.safetensors" ] && ! grep -q "\"model\": *\"$m\"" "$rep/report.json"; then
        rm -rf "$rep"
        break
      fi
    done
  fi
  [ -f "$rep/report.json" ] || logged "$rep.log" "$lethe" audit --request "$out/req-s$s-$c.tsv" --original "$out/original-s$s-k1" \
    --gold "$out/gold-s$s-$c" "${cmp[@]}" --seed "$s" --out "$rep" --force
  if [[ " $methods " == *" sisa "* ]] && [ -f "$out/sisa-s$s-$c/model.safetensors" ] && [ ! -f "$out/audit-sisa-s$s-$c/report.json" ]; then
    logged "$out/audit-sisa-s$s-$c.log" "$lethe" audit --request "$out/req-s$s-$c.tsv" --original "$out/original-s$s-k$shards" \
      --gold "$out/gold-s$s-$c" --gold-original "$out/original-s$s-k1" --compare "sisa=$out/sisa-s$s-$c" --seed "$s" \
      --out "$out/audit-sisa-s$s-$c" --force
  fi
}

cell() {  # seed cell: a method that fails is reported and left out of the audit
  local s=$1 c=$2 rc=0
  unlearn "$s" "$c" gold || return 1
  for m in $methods; do unlearn "$s" "$c" "$m" || rc=1; done
  audit "$s" "$c" || rc=1
  return $rc
}

stream() {  # method: STREAM_N single-user requests one after another from the first seed's original
  local m=$1 run="$out/stream-$m" orig="$out/original-s$first_seed-k1"
  [ "$m" = sisa ] && orig="$out/original-s$first_seed-k$shards"
  [ -f "$run/step-$(printf %02d "$stream_n")/model.safetensors" ] && return 0
  logged "$run.log" "$lethe" unlearn --run "$orig" --request-list "$out/stream/list.txt" --method "$m" --seed "$first_seed" \
    --device "$device" --no-step-audit --quiet --out "$run" --force
}

if [ "${TABLE_ONLY:-0}" != 1 ]; then
# 1. Originals (plain and sharded) and requests.
for s in $seeds; do
  run_job train "$s" 1
  [[ " $methods $stream_methods " == *" sisa "* ]] && run_job train "$s" "$shards"
  for c in $kinds; do request "$s" "$c"; done
done
for k in $extra_shards; do run_job train "$first_seed" "$k"; done
drain
# The stream's requests: STREAM_N distinct users with training rows, drawn with the first seed.
if [ "$stream_n" -gt 0 ] && [ ! -f "$out/stream/list.txt" ]; then
  "$python" "$here/unlearn_benchmark_table.py" stream-requests "$data" "$stream_n" "$first_seed" "$out/stream"
fi
# 2. Every cell, then the stream.
for s in $seeds; do for c in $kinds; do run_job cell "$s" "$c"; done; done
if [ "$stream_n" -gt 0 ]; then for m in $stream_methods; do run_job stream "$m"; done; fi
drain
fi
# 3. Leaderboard and plots.
"$python" "$here/unlearn_benchmark_table.py" table "$out" --model "$model" --data "$data" --shards "$shards" \
  --seeds $seeds --kinds $kinds --methods gold $methods --stream-methods $stream_methods --extra-shards $extra_shards
exit $status
