#!/usr/bin/env bash
# The README's test command: set up, build, run the whole test suite; then the same suite built with
# ASan + UBSan (scripts/sanitize.sh, ./build-asan) and a short libFuzzer run of every input format
# (scripts/fuzz.sh, ./build-fuzz; ZEROSIM_FUZZ_SECONDS per harness, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
scripts/sanitize.sh
# Fuzz findings are reported (build-fuzz/artifacts, tests/fuzz/findings) but do not fail the suite:
# a fuzzer's new finding is work to do, and two known ones are still open (tests/fuzz/findings/README.md).
scripts/fuzz.sh "${ZEROSIM_FUZZ_SECONDS:-20}" || echo "fuzz smoke: findings reported above (see build-fuzz/artifacts/); not failing the suite"
