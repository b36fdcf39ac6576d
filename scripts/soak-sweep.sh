#!/usr/bin/env bash
# Soak test of `zerosim sweep`: 1,200 points (4 stages x 5 GPU counts x 5 ranks x 4 micro-batches x
# 3 sequence lengths) of the tiny test model, -j $(nproc). Reports the wall time, points per second,
# and the memory ceiling: the peak RSS (VmHWM) of the sweep driver and the largest of its workers,
# sampled from /proc every 0.1 s, and /usr/bin/time -v's maximum over the whole process tree.
# Checks that every point has exactly one row. Not part of CI (minutes); run before releases.
#
#   scripts/soak-sweep.sh [ZEROSIM_BINARY]      (default build/sim/zerosim)
set -euo pipefail
cd "$(dirname "$0")/.."
zerosim="$(realpath "${1:-build/sim/zerosim}")"
dir="$(mktemp -d /tmp/zerosim-soak-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cat >"$dir/soak.yaml" <<YAML
base: $PWD/tests/data/tiny-llama-dora.yaml
axes:
  zero.stage: [0, 1, 2, 3]
  cluster.gpus: [1, 2, 4, 8, 16]
  peft.r: [4, 8, 16, 32, 64]
  train.micro_batch: [1, 2, 4, 8]
  train.seq_len: [64, 128, 256]
YAML
points=1200

start=$(date +%s.%N)
/usr/bin/time -v -o "$dir/time.txt" "$zerosim" sweep --config "$dir/soak.yaml" -j "$(nproc)" --out "$dir/soak.csv" \
  2>"$dir/sweep.err" &
time_pid=$!
driver_kb=0 worker_kb=0
while kill -0 "$time_pid" 2>/dev/null; do
  driver=$(pgrep -P "$time_pid" -x zerosim || true)
  for pid in $driver $( [ -n "$driver" ] && pgrep -P "$driver" || true); do
    kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$kb" ] || kb=0
    if [ "$pid" = "$driver" ]; then
      [ "$kb" -gt "$driver_kb" ] && driver_kb=$kb
    else
      [ "$kb" -gt "$worker_kb" ] && worker_kb=$kb
    fi
  done
  sleep 0.1
done
wait "$time_pid" || { cat "$dir/sweep.err" >&2; exit 1; }
end=$(date +%s.%N)

rows=$(wc -l <"$dir/soak.jsonl")
unique=$(python3 -c "import json,sys; print(len({json.loads(l)['point'] for l in open('$dir/soak.jsonl')}))")
errors=$(python3 -c "import json; print(sum(1 for l in open('$dir/soak.jsonl') if json.loads(l).get('error')))")
tree_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.txt")
wall=$(python3 -c "print(f'{$end - $start:.1f}')")
echo "soak: $points points, $rows rows ($unique distinct points, $errors with an error row), $(nproc) workers"
echo "soak: wall time ${wall} s ($(python3 -c "print(f'{$points / ($end - $start):.1f}')") points/s)"
echo "soak: peak RSS: driver $((driver_kb / 1024)) MiB, largest worker $((worker_kb / 1024)) MiB (sampled /proc VmHWM); process tree max $((tree_kb / 1024)) MiB (/usr/bin/time -v)"
[ "$rows" -eq "$points" ] && [ "$unique" -eq "$points" ] || { echo "soak: expected $points rows, one per point" >&2; exit 1; }
