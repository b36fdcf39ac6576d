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
# A fuzz finding (a crash, sanitizer report, timeout; the input is left in build-fuzz/artifacts/) fails
# the suite: fix it and add the input to tests/fuzz/corpus/<format>/regression-*.
scripts/fuzz.sh "${ZEROSIM_FUZZ_SECONDS:-20}"
