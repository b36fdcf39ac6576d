// zerosim validate [DIR] [--known-misses FILE] [--format table|json]
// The options; sim/batch/validation_suite.h runs the case files and prints predicted against measured.
#include <CLI/CLI.hpp>

#include "sim/batch/validation_suite.h"
#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"

namespace zerosim {

void add_validate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("validate",
                                  "compare predictions with published measurements (validation case files)");
  auto o = std::make_shared<ValidateOptions>();
  cmd->add_option("DIR", o->dir, "directory of case files (default: tests/validation)");
  cmd->add_option("--known-misses", o->known_misses,
                  "tolerances and known misses (default: DIR/known-misses.yaml, else "
                  "tests/validation/known-misses.yaml)");
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o] { run_validate(*o); });
}

}  // namespace zerosim
