#!/usr/bin/env bash
# Fuzzing (tests/fuzz): builds the libFuzzer targets with the fuzz preset (clang, AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs each for SECONDS (default 12) over a copy of its seed corpus
# (tests/fuzz/corpus/<target>/), after replaying the inputs that once crashed (tests/fuzz/regressions/).
# Prints the executions of each target; fails on any crash, with the input left in
# build/fuzz/crashes/<target>/ (fix it, then add the input to tests/fuzz/regressions/<target>/: the
# ordinary suite replays those, tests/fuzz/test_fuzz_inputs.cpp).
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-12}"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz > build/fuzz-build.log 2>&1 || { tail -40 build/fuzz-build.log; exit 1; }
bin=build/fuzz/tests/fuzz work=build/fuzz/run crashes=build/fuzz/crashes
rm -rf "$work"
mkdir -p "$work" "$crashes"
status=0
for t in npy safetensors inter request config; do
  mkdir -p "$work/$t" "$crashes/$t"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/"
  if compgen -G "tests/fuzz/regressions/$t/*" > /dev/null; then
    if ! "$bin/fuzz_$t" tests/fuzz/regressions/"$t"/* > "$work/$t.replay.log" 2>&1; then
      echo "fuzz_$t: an input of tests/fuzz/regressions/$t crashes again (see $work/$t.replay.log)"
      status=1
    fi
  fi
  if "$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$crashes/$t/" "$work/$t" > "$work/$t.log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}')
    echo "fuzz_$t: ${execs:-?} executions in $secs s, 0 crashes"
  else
    echo "fuzz_$t: CRASH (log $work/$t.log, input in $crashes/$t/)"
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal' "$work/$t.log" | head -10 || true
    status=1
  fi
done
exit $status
