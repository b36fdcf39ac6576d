#!/usr/bin/env bash
# Installs everything zerosim needs to build and test, from Debian's packages.
# Idempotent: does nothing when every package is already installed. Run as root.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libsimgrid-dev          # discrete-event engine (pkg-config: simgrid)
  libboost-graph-dev      # step graph (Boost.Graph)
  libyaml-cpp-dev         # run configs; also parses Hugging Face / DeepSpeed JSON
  nlohmann-json3-dev      # JSON output (exact, deterministic)
  libcli11-dev            # command-line parsing
  libpugixml-dev          # platform XML checks before SimGrid sees the file
  catch2                  # unit tests (v2)
  libopenblas-dev         # CPU calibration backend
  gnuplot-nox             # plots
  python3                 # integration-test helpers (standard library only)
  slurmctld slurmd munge slurm-client   # CI's single-node SLURM check of sweep job arrays (scripts/slurm/)
  clang libclang-rt-14-dev  # libFuzzer harnesses of tests/fuzz (scripts/fuzz.sh)
  time                      # /usr/bin/time -v: peak RSS in scripts/soak-sweep.sh
  clang-format clang-tidy   # scripts/lint.sh: formatting (checked by the test suite) and lint
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: these packages are missing and installing them needs root: ${missing[*]}" >&2
  echo "          run: sudo scripts/setup.sh" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
