#!/usr/bin/env bash
# Lethe against an independent PyTorch implementation (bench/pytorch/mmrec_ref.py), same data, same run:
# for each model, `lethe bench` and the PyTorch script train EPOCHS epochs on the Baby-shaped synthetic set
# (lethe gen --preset baby --seed 1), each timing its own epochs and valid evaluations; the table gives the
# medians, the speed ratio (PyTorch s / Lethe s) and both Recall@20 after the last epoch. Skipped, with a
# message and exit status 0, when `python3 -c "import torch"` fails (Debian: apt-get install python3-torch
# python3-numpy libopenblas0-pthread).
#
#   bench/side_by_side.sh                          # LightGCN (3 layers) and FREEDOM, 3 epochs
#   EPOCHS=2 MODELS="lightgcn" DATA=/tmp/baby LETHE=build/bench/lethe bench/side_by_side.sh
#
# Environment: LETHE (binary; default build/bench/lethe, built if missing), DATA (default build/bench/data/baby,
# generated if missing), EPOCHS (3), MODELS ("lightgcn freedom"), LAYERS (LightGCN layers, 3), OUT (directory
# for the JSON and logs, default build/bench/side_by_side), PYTHON (/usr/bin/python3), TORCH_THREADS (nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
LETHE=${LETHE:-build/bench/lethe}
DATA=${DATA:-build/bench/data/baby}
EPOCHS=${EPOCHS:-3}
MODELS=${MODELS:-"lightgcn freedom"}
LAYERS=${LAYERS:-3}
OUT=${OUT:-build/bench/side_by_side}
TORCH_THREADS=${TORCH_THREADS:-$(nproc)}  # Debian's torch 1.13 defaults to 1 thread here; give it every core

if ! "$PYTHON" -c "import torch, numpy" 2>/dev/null; then
  echo "side_by_side: skipped: '$PYTHON -c \"import torch, numpy\"' fails (apt-get install python3-torch python3-numpy libopenblas0-pthread)"
  exit 0
fi
if [ ! -x "$LETHE" ]; then
  cmake -S . -B build/bench -DBLA_VENDOR=OpenBLAS -DLETHE_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/bench --target lethe -j"$(nproc)"
  LETHE=build/bench/lethe
fi
if [ ! -d "$DATA" ]; then
  mkdir -p "$(dirname "$DATA")"
  "$LETHE" gen --preset baby --seed 1 --out "$DATA"
fi
mkdir -p "$OUT"

echo "== machine =="
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" -c "import torch; print('torch', torch.__version__, torch.get_num_threads(), 'threads; BLAS:', [l for l in torch.__config__.show().splitlines() if 'BLAS' in l][:1])"

for m in $MODELS; do
  sets=()
  pyargs=()
  if [ "$m" = lightgcn ]; then
    sets=(--set "lightgcn:n_layers=$LAYERS")
    pyargs=(--n-layers "$LAYERS")
  fi
  echo "== $m: lethe =="
  "$LETHE" bench --data "$DATA" --models "$m" --epochs "$EPOCHS" "${sets[@]}" --verbose \
    --json "$OUT/lethe_$m.json" | tee "$OUT/lethe_$m.log" | grep -E '^epoch .* (training|evaluating)'
  echo "== $m: pytorch =="
  "$PYTHON" bench/pytorch/mmrec_ref.py --data "$DATA" --model "$m" --epochs "$EPOCHS" --threads "$TORCH_THREADS" "${pyargs[@]}" \
    | tee "$OUT/pytorch_$m.log" | grep -E '^(torch|epoch)'
  grep '^RESULT ' "$OUT/pytorch_$m.log" | sed 's/^RESULT //' >"$OUT/pytorch_$m.json"
done

echo "== side by side (medians over $EPOCHS epochs) =="
"$PYTHON" - "$OUT" $MODELS <<'EOF'
import json, sys
out, models = sys.argv[1], sys.argv[2:]
print(f"{'model':<10} {'lethe train s':>14} {'torch train s':>14} {'ratio':>7} {'lethe eval s':>13} {'torch eval s':>13} "
      f"{'ratio':>7} {'lethe R@20':>11} {'torch R@20':>11} {'lethe MiB':>10} {'torch MiB':>10}")
for m in models:
    L = json.load(open(f"{out}/lethe_{m}.json"))["models"][0]
    P = json.load(open(f"{out}/pytorch_{m}.json"))
    lt, pt = L["train_seconds_median"], P["train_seconds_median"]
    le, pe = L["eval_seconds_median"], P["eval_seconds_median"]
    print(f"{m:<10} {lt:>14.3f} {pt:>14.3f} {pt/lt:>6.1f}x {le:>13.3f} {pe:>13.3f} {pe/le:>6.1f}x "
          f"{L['valid_recall20_last']:>11.4f} {P['valid_recall20_last']:>11.4f} {L['peak_rss_mib']:>10.0f} {P['peak_rss_mib']:>10.0f}")
EOF
