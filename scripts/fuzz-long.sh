#!/usr/bin/env bash
# Long fuzzing campaign: every harness for HOURS hours (default 1) on all cores, each harness in turn
# with -jobs=$(nproc). Uses scripts/fuzz.sh's build (./build-fuzz). New corpus inputs are merged
# (minimized) into tests/fuzz/corpus/<harness>/ at the end; crashes land in
# build-fuzz/artifacts/<harness>/ — copy each into the corpus as regression-<what>.<ext>, fix, and
# tests/unit/test_fuzz_regressions.cpp replays it from then on.
#
#   scripts/fuzz-long.sh 8                 # overnight
#   scripts/fuzz-long.sh 0.5 platform      # one harness
set -euo pipefail
cd "$(dirname "$0")/.."
hours="${1:-1}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(run_config hf_config ds_config adapter_config sweep calibration platform nccl_tests)
scripts/fuzz.sh 5 >/dev/null || true   # builds build-fuzz (and a quick smoke run)
per=$(python3 -c "print(int(float('$hours') * 3600 / ${#harnesses[@]}))")
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
root="$PWD"
for h in "${harnesses[@]}"; do
  work="$root/build-fuzz/long/$h"
  art="$root/build-fuzz/artifacts/$h/"
  mkdir -p "$work" "$art"
  echo "fuzz-long: $h for $per s on $(nproc) jobs"
  # -jobs writes fuzz-<N>.log into the current directory: run from the work directory.
  (cd "$work" && rm -f fuzz-*.log && "$root/build-fuzz/tests/fuzz/fuzz_$h" "$work" "$root/tests/fuzz/corpus/$h" \
    -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -jobs="$(nproc)" -workers="$(nproc)" \
    -artifact_prefix="$art" -print_final_stats=1 >/dev/null 2>&1) || echo "fuzz-long: $h found something: see $art"
  awk '/stat::number_of_executed_units/ {s += $2} END {print "fuzz-long: '"$h"': " s " executions"}' "$work"/fuzz-*.log
  # Keep the coverage: minimize the grown corpus back into the committed one.
  "$root/build-fuzz/tests/fuzz/fuzz_$h" -merge=1 "$root/tests/fuzz/corpus/$h" "$work" >/dev/null 2>&1 || true
done
ls build-fuzz/artifacts/*/ 2>/dev/null | grep -E 'crash|leak|timeout|oom' && exit 1 || exit 0
