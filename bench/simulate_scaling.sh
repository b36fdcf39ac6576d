#!/usr/bin/env bash
# Speed of the simulator (not a test): `zerosim simulate` for LLaMA-2-7B, DoRA r=16 (q,v), ZeRO-3 on
# generated H100 clusters (8 GPUs per node, NDR 400 InfiniBand), at 8 to 4096 GPUs, one process each.
# Prints wall seconds, peak RSS, the step's flows (time.flows: every rank's flows of every collective, as
# planned; the engine runs those of the first of identical collectives and replays the rest, see
# docs/architecture.md) and wall time per flow, then wall(1024) / wall(64).
# Usage: bench/simulate_scaling.sh [build-dir] [GPU counts...]   (default: build, 8 64 512 1024 2048 4096)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build}/sim/zerosim"
shift || true
[ -x "$bin" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8 64 512 1024 2048 4096)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "%6s %10s %10s %12s %12s %12s\n" gpus wall_s rss_mib flows us_per_flow step_ms
for gpus in "${sizes[@]}"; do
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" simulate --config workloads/configs/seed-dora-7b.yaml \
    --set zero.stage=3 --set cluster.gpu=h100-80gb-sxm --set cluster.gpus="$gpus" \
    --set cluster.inter=ib-ndr400 --format json > "$out/result.json"
  read -r wall rss < "$out/time"
  echo "$gpus $wall" >> "$out/walls"
  python3 - "$out/result.json" "$gpus" "$wall" "$rss" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
gpus, wall, rss = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
flows = j["time"]["flows"]
print(f"{gpus:>6} {wall:10.2f} {rss/1024:10.1f} {flows:12,d} {wall*1e6/max(flows,1):12.2f} {j['time']['step_s']*1e3:12.1f}")
PY
done
python3 - "$out/walls" <<'PY'
import sys
w = dict(line.split() for line in open(sys.argv[1]))
if "64" in w and "1024" in w:
    print(f"wall(1024) / wall(64) = {float(w['1024']) / max(float(w['64']), 1e-9):.1f}")
PY
