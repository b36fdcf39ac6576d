// zerosim memory --config RUN.yaml [--set k=v]... [--format table|json|csv]
// Options only; the point is computed in sim/batch/point_run.
#include <CLI/CLI.hpp>

#include "sim/batch/point_run.h"
#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/cli/run_options.h"

namespace zerosim {

void add_memory_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("memory", "predict per-GPU peak memory with a per-component breakdown");
  auto o = std::make_shared<MemoryReportOptions>();
  add_run_options(*cmd, o->config_path, o->sets);
  add_format_option(*cmd, o->format);
  cmd->callback([o] { run_memory(*o); });
}

}  // namespace zerosim
