#!/usr/bin/env bash
# Speed of the simulator (not a test): `zerosim simulate` for LLaMA-2-7B, DoRA r=16 (q,v), ZeRO-3 on
# generated H100 clusters (8 GPUs per node, NDR 400 InfiniBand), at 8, 64 and 512 GPUs.
# Prints wall seconds, peak RSS, simulated flows and flows per wall second.
# Usage: bench/simulate_scaling.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build}/sim/zerosim"
[ -x "$bin" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
printf "%6s %10s %10s %10s %14s %12s\n" gpus wall_s rss_mib flows flows_per_s step_ms
for gpus in 8 64 512; do
  out=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$out.time" "$bin" simulate --config workloads/configs/seed-dora-7b.yaml \
    --set zero.stage=3 --set cluster.gpu=h100-80gb-sxm --set cluster.gpus="$gpus" \
    --set cluster.inter=ib-ndr400 --format json > "$out"
  read -r wall rss < "$out.time"
  python3 - "$out" "$gpus" "$wall" "$rss" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
gpus, wall, rss = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
flows = j["time"]["flows"]
print(f"{gpus:>6} {wall:10.2f} {rss/1024:10.1f} {flows:10d} {flows/max(wall,1e-9):14.0f} {j['time']['step_s']*1e3:12.1f}")
PY
  rm -f "$out" "$out.time"
done
