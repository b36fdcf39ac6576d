#!/usr/bin/env bash
# The README's first command: set up (apt, as root), build, and run the main job on the bundled
# default — the seed's case, LLaMA-2-7B with DoRA r=16 on q_proj,v_proj — printing the per-GPU
# memory breakdown and the simulated step time for ZeRO stages 0-3 on one A100-80GB.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
for stage in 0 1 2 3; do
  echo "==================== ZeRO stage $stage ===================="
  build/sim/zerosim simulate --config workloads/configs/seed-dora-7b.yaml --set zero.stage="$stage"
done
