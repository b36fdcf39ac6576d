#!/usr/bin/env bash
# Writes what users and their scripts read (the JSON of every bundled config x stages 0-3 x 1/8/64 GPUs,
# simulate and memory; the seed sweep; two collective curves; validate; recommend) into DIR, so a
# refactor can prove it changes no byte: run it with the binary before and after, then diff -r.
#   scripts/snapshot-outputs.sh build/sim/zerosim /tmp/before   (…change, rebuild…)
#   scripts/snapshot-outputs.sh build/sim/zerosim /tmp/after && diff -r /tmp/before /tmp/after
set -euo pipefail
bin=$(realpath "$1")
out=$(realpath -m "$2")
mkdir -p "$out"
cd "$(dirname "$0")/.."
for cfg in workloads/configs/*.yaml; do
  name=$(basename "$cfg" .yaml)
  for stage in 0 1 2 3; do
    for gpus in 1 8 64; do
      for cmd in simulate memory; do
        "$bin" $cmd --config "$cfg" --set zero.stage=$stage --set cluster.gpus=$gpus --format json \
          > "$out/$name-$cmd-z$stage-g$gpus.json" 2>&1 || echo "exit $?" >> "$out/$name-$cmd-z$stage-g$gpus.json"
      done
    done
  done
done
"$bin" sweep --config workloads/sweeps/seed.yaml --out "$out/seed.csv" -j 2 >/dev/null 2>&1
"$bin" collective --cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce --format json > "$out/coll-h100.json" 2>&1 || true
"$bin" collective --cluster gpu=a100-80gb-sxm,gpus=16,gpus_per_node=8,inter=ib-hdr200 --op all_reduce --format json > "$out/coll-a100x16.json" 2>&1 || true
"$bin" validate tests/validation --format json > "$out/validate.json" 2>&1 || true
"$bin" recommend --config workloads/configs/seed-dora-7b.yaml --format json > "$out/recommend.json" 2>&1 || true
