#!/usr/bin/env bash
# Unlearning at Baby scale on a GPU, from a bundle (bench/gpu_bundle.sh): Baby-shaped synthetic data,
# FREEDOM and MGCN trained to early stopping (EPOCHS caps it), then a 5% user request and a 5% item request,
# each answered by MMRecUn (until forgotten) and by gold retraining, and audited. The two models run side by
# side on the one GPU. Prints every report table; logs and reports go to $OUT as one tarball.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lethe="$here/bin/lethe"
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
w=/tmp/gpu-unlearn; mkdir -p "$w"
data=${DATA:-/tmp/lethe-baby}
[ -d "$data" ] || timeout 120 "$lethe" gen --preset "${PRESET:-baby}" --seed 1 --out "$data" > "$w/gen.log" 2>&1
for kind in ${KINDS:-user item}; do
  "$lethe" request --data "$data" --kind $kind --fraction 0.05 --select random --seed 1 --out "$w/req-$kind.tsv" \
    > "$w/req-$kind.log" 2>&1
done
pipeline() {  # model
  local m=$1
  timeout 200 "$lethe" train --data "$data" --model $m --device "${DEVICE:-cuda}" --epochs "${EPOCHS:-100}" --out "$w/orig-$m" \
    > "$w/orig-$m.log" 2>&1 || { echo "train $m failed" >> "$w/orig-$m.log"; return; }
  for kind in ${KINDS:-user item}; do
    timeout 150 "$lethe" unlearn --run "$w/orig-$m" --request "$w/req-$kind.tsv" --method mmrecun --until-forgotten ${MMRECUN_ARGS:-} \
      --max-epochs 60 --device "${DEVICE:-cuda}" --quiet --out "$w/mmrecun-$m-$kind" > "$w/mmrecun-$m-$kind.log" 2>&1
    timeout 200 "$lethe" unlearn --run "$w/orig-$m" --request "$w/req-$kind.tsv" --method gold --device "${DEVICE:-cuda}" --quiet \
      --out "$w/gold-$m-$kind" > "$w/gold-$m-$kind.log" 2>&1
    timeout 100 "$lethe" audit --request "$w/req-$kind.tsv" --original "$w/orig-$m" --gold "$w/gold-$m-$kind" \
      --compare "mmrecun=$w/mmrecun-$m-$kind" --out "$w/audit-$m-$kind" > "$w/audit-$m-$kind.log" 2>&1
  done
}
pipeline freedom &
pipeline mgcn &
wait
for m in freedom mgcn; do
  echo "== $m original =="; grep -E "stopped|best test" "$w/orig-$m.log" | tail -n 2
  for kind in ${KINDS:-user item}; do
    echo "== $m, 5% $kind request =="
    if [ -f "$w/audit-$m-$kind/report.md" ]; then cat "$w/audit-$m-$kind/report.md"; else
      tail -n 5 "$w/mmrecun-$m-$kind.log" "$w/gold-$m-$kind.log" "$w/audit-$m-$kind.log" 2>/dev/null; fi
  done
done
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-unlearn.tar.gz" --exclude='*.safetensors' -C /tmp gpu-unlearn
