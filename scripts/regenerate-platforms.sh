#!/usr/bin/env bash
# Rebuilds the bundled platforms in platforms/ from the platform generator (zerosim platform), so the
# committed XML always matches platforms/gpus.yaml + platforms/hosts.yaml + platforms/interconnect.yaml.
# Run after editing any of these tables, then commit the changed XML. ZEROSIM=path/to/zerosim overrides
# the binary (default: build/sim/zerosim).
set -euo pipefail
cd "$(dirname "$0")/.."
zerosim="${ZEROSIM:-build/sim/zerosim}"
if [ ! -x "$zerosim" ]; then
  echo "regenerate-platforms.sh: $zerosim not found; build first (scripts/build.sh) or set ZEROSIM=" >&2
  exit 2
fi

gen() {  # gen FILE ARGS...
  local out="platforms/$1"
  shift
  "$zerosim" platform "$@" -o "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}

# NVIDIA DGX A100: 8x A100-SXM4-80GB on NVSwitch, 8x ConnectX-6 HDR 200 Gb/s for compute.
gen dgx-a100.xml --gpu a100-80gb-sxm --nodes 1 --gpus-per-node 8 --intra nvswitch --inter ib-hdr200
# NVIDIA DGX H100: 8x H100-SXM5-80GB on NVSwitch, 8x ConnectX-7 NDR 400 Gb/s for compute.
gen dgx-h100.xml --gpu h100-80gb-sxm --nodes 1 --gpus-per-node 8 --intra nvswitch --inter ib-ndr400
# Workstation: 2x GeForce RTX 3090 on PCIe 4.0 x16 behind one CPU, with and without the NVLink bridge.
gen workstation-2x3090-pcie.xml --gpu rtx-3090 --nodes 1 --gpus-per-node 2 --intra pcie --inter none
gen workstation-2x3090-nvlink.xml --gpu rtx-3090 --nodes 1 --gpus-per-node 2 --intra nvlink-bridge --inter none
# Server: 4x A100 80GB PCIe, two per CPU socket, no NVLink bridges.
gen server-4xa100-pcie.xml --gpu a100-80gb-pcie --nodes 1 --gpus-per-node 4 --intra pcie --inter none
