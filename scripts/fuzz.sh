#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang, ASan + UBSan) into ./build-fuzz and fuzzes each
# input format for SECONDS seconds (default 20) from tests/fuzz/corpus/<harness>/. CI runs it from
# scripts/test.sh; scripts/fuzz-long.sh runs long campaigns with the same build.
#
# Any crash, sanitizer report, uncaught non-ConfigError exception or timeout fails the run and leaves
# the input in build-fuzz/artifacts/<harness>/ (turn it into a regression test: tests/fuzz/README.md).
# The committed corpus is not modified: each run works on a copy in build-fuzz/work/<harness>/.
#
# The platform harness also keeps every XML that sim/platform_check accepts; each accepted input of
# the final corpus is then loaded by SimGrid itself (`zerosim platform --check FILE --ring`, the
# same ASan + UBSan build), which must exit 0 or 2: what our check accepts must not make SimGrid
# abort (SimGrid's own DTD validation may still reject it, as a ParseError zerosim turns into exit 2).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
harnesses=(run_config hf_config ds_config adapter_config sweep calibration platform nccl_tests import)
jobs="$(nproc)"

# Warnings are errors in the GCC builds; clang's extra warnings are not worth failing a fuzz run on.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1" \
  -DZEROSIM_FUZZ=ON -DZEROSIM_CUDA=OFF -DBUILD_TESTING=OFF -DZEROSIM_WERROR=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target "${harnesses[@]/#/fuzz_}" zerosim

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
summary=build-fuzz/fuzz-summary.txt
: >"$summary"
status=0
run_one() {
  local h="$1" work="build-fuzz/work/$1" art="build-fuzz/artifacts/$1/"
  rm -rf "$work" && mkdir -p "$work" "$art"
  # Seeds only: the regression-* inputs are replayed by tests/unit/test_fuzz_regressions.cpp, and a
  # seed like the 10^12-point sweep steers mutations to sweeps that are merely slow to expand.
  find tests/fuzz/corpus/"$h" -maxdepth 1 -type f ! -name 'regression-*' -exec cp {} "$work"/ \;
  local log="build-fuzz/fuzz-$h.log"
  # -timeout: one input taking 10 s is a hang to fix (a sweep of 10^12 points, a huge <cluster>);
  # -rss_limit_mb: an input blowing up memory is a finding too.
  # -seed=1: CI replays the same mutation sequence each run (reproducible); fuzz-long.sh explores freely.
  if build-fuzz/tests/fuzz/fuzz_"$h" "$work" -seed=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$art" >"$log" 2>&1; then
    local execs
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    printf '%-15s ok      %10s executions, corpus %s files\n' "$h" "$execs" "$(ls "$work" | wc -l)" | tee -a "$summary"
  else
    printf '%-15s FAILED  see %s and %s\n' "$h" "$log" "$art" | tee -a "$summary"
    grep -E 'ERROR|runtime error|SUMMARY|terminate|Test unit written' "$log" | head -20 >&2 || true
    status=1
  fi
}
# Two harnesses at a time on a 2-core machine: each libFuzzer process is single-threaded. Each runs in a
# background subshell, whose `status` the script never sees: the summary's FAILED lines are the verdict.
for h in "${harnesses[@]}"; do
  run_one "$h" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait
if grep -q ' FAILED ' "$summary"; then status=1; fi

# What our platform check accepts, SimGrid must load (and route a ring over every GPU).
accepted=build-fuzz/platform-accepted
rm -rf "$accepted" && mkdir -p "$accepted"
ZEROSIM_FUZZ_ACCEPTED_DIR="$accepted" build-fuzz/tests/fuzz/fuzz_platform -runs=0 build-fuzz/work/platform \
  >build-fuzz/platform-accepted.log 2>&1 || true
zerosim=build-fuzz/sim/zerosim  # this build's (ASan + UBSan, clang), so it is current with the harnesses
checked=0
for f in "$accepted"/*.xml; do
  [ -e "$f" ] || continue
  checked=$((checked + 1))
  # 0: SimGrid loads it; 2: SimGrid's DTD validation rejects it (a ConfigError naming the file). An
  # abort, a signal, 1 (internal error) or a hang (124: SimGrid's Dijkstra routing loops forever on a
  # missing route) is a finding.
  rc=0
  out=$(timeout 60 "$zerosim" platform --check "$f" --ring 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
    echo "platform: $f passes sim/platform_check but zerosim platform --check exits $rc: $out" | tee -a "$summary" >&2
    status=1
  fi
done
echo "platform: $checked accepted XML file(s) of the corpus loaded by SimGrid" | tee -a "$summary"
exit "$status"
