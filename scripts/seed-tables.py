#!/usr/bin/env python3
"""Regenerates the seed-scenario tables in README.md from zerosim itself.

For each of the seed analysis' hardware scenarios and ZeRO stages 0-3, runs
`zerosim simulate --format json` on workloads/configs/seed-dora-7b.yaml and prints a
Markdown table: per-GPU peak memory (GiB), fits, step time (ms), tokens/s.
Usage: scripts/seed-tables.py [path/to/zerosim]
"""
import json
import subprocess
import sys

ZEROSIM = sys.argv[1] if len(sys.argv) > 1 else "build/sim/zerosim"
SCENARIOS = [
    ("1x A100-80GB", {"cluster.gpu": "a100-80gb-sxm", "cluster.gpus": 1}),
    ("1x RTX 3090-24GB", {"cluster.gpu": "rtx-3090", "cluster.gpus": 1, "cluster.intra": "pcie"}),
    ("2x A100-40GB", {"cluster.gpu": "a100-40gb-sxm", "cluster.gpus": 2}),
    ("4x A100-80GB", {"cluster.gpu": "a100-80gb-sxm", "cluster.gpus": 4}),
    ("8x H100", {"cluster.gpu": "h100-80gb-sxm", "cluster.gpus": 8, "cluster.inter": "ib-ndr400"}),
    ("64x H100", {"cluster.gpu": "h100-80gb-sxm", "cluster.gpus": 64, "cluster.inter": "ib-ndr400"}),
]
EXTRA = sys.argv[2:]  # further --set key=value pairs, e.g. peft.method=none


def run(sets):
    cmd = [ZEROSIM, "simulate", "--config", "workloads/configs/seed-dora-7b.yaml", "--format", "json"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    for kv in EXTRA:
        cmd += ["--set", kv]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


GIB = 2**30
print("| hardware | stage | peak GiB (of capacity) | fits | frozen | optimizer | activations | temporaries | buffers | step ms | exposed comm ms | tokens/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, sets in SCENARIOS:
    for stage in range(4):
        j = run({**sets, "zero.stage": stage})
        m, t, b = j["memory"], j["time"], j["memory"]["breakdown"]
        print(f"| {name} | {stage} | {m['peak_bytes']/GIB:.2f} ({m['capacity_bytes']/GIB:.1f}) | "
              f"{'yes' if m['fits'] else '**no**'} | {b['frozen_params']/GIB:.2f} | {b['optimizer_states']/GIB:.3f} | "
              f"{b['activations']/GIB:.2f} | {b['temporaries']/GIB:.2f} | {b['buffers']/GIB:.2f} | "
              f"{t['step_s']*1e3:.1f} | {t['exposed_comm_s']*1e3:.1f} | {j['throughput']['tokens_per_s']:.0f} |")
