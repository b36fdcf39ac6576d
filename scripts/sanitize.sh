#!/usr/bin/env bash
# The test suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer (GCC) into
# ./build-asan, CUDA off. Any sanitizer report fails the test that triggered it (halt_on_error,
# -fno-sanitize-recover), including in the zerosim processes the integration tests and sweeps start.
# Called by scripts/test.sh (the README's test command, which .ci/run runs).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -g1" \
  -DZEROSIM_SANITIZE=ON -DZEROSIM_CUDA=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
# Left out here, run by the ordinary build only:
# - slurm: the daemons are not ours and the check takes 15 s already;
# - "integration:validate: ..." (5 tests): each reruns `zerosim validate` over every case (70 s each
#   under ASan) only to assert a different figure; "integration:validate runs every case of
#   tests/validation" still runs that same code under the sanitizers once.
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE "slurm|gpu" -E "^integration:validate: " \
  --timeout 900
