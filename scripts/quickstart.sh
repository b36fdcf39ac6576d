#!/usr/bin/env bash
# The README's first command: set up (apt, as root), build, and run the main job on the bundled
# default — the seed's case, LLaMA-2-7B with DoRA r=16 on q_proj,v_proj — answering "which ZeRO stage,
# micro-batch and checkpointing?" for the seed's hardware scenarios with `zerosim recommend`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
run=workloads/configs/seed-dora-7b.yaml
z=build/sim/zerosim
$z recommend --config $run --set cluster.gpu=a100-80gb-sxm --gpus 1,2,4
$z recommend --config $run --set cluster.gpu=rtx-3090 --set cluster.intra=pcie --gpus 1
$z recommend --config $run --set cluster.gpu=a100-40gb-sxm --gpus 2
$z recommend --config $run --set cluster.gpu=h100-80gb-sxm --set cluster.inter=ib-ndr400 --gpus 8,16,32,64
