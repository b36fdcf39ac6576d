#!/usr/bin/env bash
# Fails when a source file includes a layer it must not see (docs/architecture.md, "Layers").
# Run by every build (sim/CMakeLists.txt: target check_layers) and by the test suite.
#   workloads/      -> workloads/ only; never sim/, calibrate/ or SimGrid
#   calibrate/      -> calibrate/, workloads/
#   sim/platform/   -> workloads/, sim/platform/
#   sim/engine/     -> workloads/, calibrate/, sim/platform/, sim/engine/   (the only SimGrid includer)
#   sim/report/     -> workloads/, calibrate/, sim/engine/, sim/report/
#   sim/batch/      -> workloads/, calibrate/, sim/platform/, sim/engine/, sim/report/, sim/batch/
#   sim/cli/        -> everything above
set -uo pipefail
cd "$(dirname "$0")/.."

allowed() {  # folder -> regex of the project include prefixes it may use
  case "$1" in
    workloads) echo '^workloads/' ;;
    calibrate) echo '^(calibrate|workloads)/' ;;
    sim/platform) echo '^(workloads|sim/platform)/' ;;
    sim/engine) echo '^(workloads|calibrate|sim/(platform|engine))/' ;;
    sim/report) echo '^(workloads|calibrate|sim/(engine|report))/' ;;
    sim/batch) echo '^(workloads|calibrate|sim/(platform|engine|report|batch))/' ;;
    sim/cli) echo '^(workloads|calibrate|sim/(platform|engine|report|batch|cli))/' ;;
  esac
}

status=0
for layer in workloads calibrate sim/platform sim/engine sim/report sim/batch sim/cli; do
  ok=$(allowed "$layer")
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    if ! grep -Eq "$ok" <<<"$inc"; then
      echo "check-layers: $file includes \"$inc\", which $layer/ must not see" >&2
      status=1
    fi
  done < <(grep -rHn --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' '^#include "' "$layer" \
             | grep -Ev '#include "[^"/]+"')  # same-folder includes ("kernels.cuh") are always fine
  if [ "$layer" != sim/engine ]; then
    while IFS= read -r line; do
      echo "check-layers: ${line%%:*} includes SimGrid, which only sim/engine/ may" >&2
      status=1
    done < <(grep -rHn --include='*.h' --include='*.cpp' -E '^#include <(simgrid|xbt|smpi)/' "$layer")
  fi
done
exit $status
