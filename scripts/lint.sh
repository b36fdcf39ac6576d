#!/usr/bin/env bash
# clang-format and clang-tidy over zerosim's own sources.
#   scripts/lint.sh            both (clang-tidy needs build/compile_commands.json: scripts/build.sh)
#   scripts/lint.sh --format   clang-format only: exits 1 naming every file that drifts from .clang-format
#                              (the test suite runs this; `clang-format -i FILE` fixes one)
# clang-tidy's checks and the reasons for each disabled one are in .clang-tidy.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t sources < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' | grep -v '^tests/fuzz/corpus/')

clang-format --dry-run -Werror "${sources[@]}"
echo "clang-format: ${#sources[@]} files clean"
[ "${1:-}" = "--format" ] && exit 0

if [ ! -f build/compile_commands.json ]; then
  echo "lint.sh: build/compile_commands.json missing: run scripts/build.sh first" >&2
  exit 2
fi
# Translation units of the build that are the project's own C++ (not CUDA: clang-tidy cannot parse nvcc
# flags), run on every core.
mapfile -t units < <(python3 - <<'PY'
import json
for entry in json.load(open("build/compile_commands.json")):
    f = entry["file"]
    if f.endswith(".cpp") and "/build" not in f and "/tests/fuzz/" not in f:
        print(f)
PY
)
printf '%s\n' "${units[@]}" | sort -u | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet --extra-arg=-Wno-unknown-warning-option 2>/dev/null
echo "clang-tidy: ${#units[@]} translation units clean"
