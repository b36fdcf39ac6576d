// zerosim simulate --config RUN.yaml [--set k=v]... [--trace trace.json] [--format table|json|csv]
// Options only; the point is simulated in sim/batch/point_run.
#include <CLI/CLI.hpp>

#include "sim/batch/point_run.h"
#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/cli/run_options.h"

namespace zerosim {

void add_simulate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("simulate", "simulate one optimizer step on the cluster: time and memory");
  auto o = std::make_shared<SimulateOptions>();
  add_run_options(*cmd, o->config_path, o->sets);
  add_format_option(*cmd, o->format);
  cmd->add_option("--trace", o->trace_path, "write a Chrome trace (open in Perfetto / chrome://tracing)");
  cmd->callback([o] { run_simulate(*o); });
}

}  // namespace zerosim
