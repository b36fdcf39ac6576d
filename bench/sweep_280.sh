#!/usr/bin/env bash
# Speed of `zerosim sweep` (a benchmark, not a test): the 280 points of workloads/sweeps/bench-280.yaml
# (LLaMA-2-7B DoRA, 4 ZeRO stages x 7 GPU counts 1-64 x 5 ranks x 2 micro-batches), one worker process
# per point, -j = the CPUs available. Prints wall seconds and points per second.
# Usage: bench/sweep_280.sh [build-dir] [-j N]   (default: build, all CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
bin="$build/sim/zerosim"
[ -x "$bin" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
"$bin" sweep --config workloads/sweeps/bench-280.yaml --out "$out/results.csv" "$@" 2> "$out/log" ||
  { cat "$out/log" >&2; exit 1; }
end=$(date +%s.%N)
rows=$(($(wc -l < "$out/results.jsonl")))
failed=$(python3 -c 'import json,sys; print(sum(json.loads(l)["error"] is not None for l in open(sys.argv[1])))' "$out/results.jsonl")
python3 - "$start" "$end" "$rows" "$failed" <<'PY'
import os, sys
start, end, rows, failed = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
wall = end - start
print(f"points {rows}  failed {failed}  cpus {len(os.sched_getaffinity(0))}  wall {wall:.1f} s  {rows / wall:.1f} points/s")
PY
