// zerosim memory --config RUN.yaml [--set k=v]... [--format table|json|csv]
#include <CLI/CLI.hpp>

#include <iostream>

#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/report/memory_report.h"
#include "sim/report/output_format.h"
#include "sim/cli/run_options.h"

namespace zerosim {

void add_memory_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("memory", "predict per-GPU peak memory with a per-component breakdown");
  auto opts = std::make_shared<RunOptions>();
  auto format = std::make_shared<std::string>("table");
  add_run_options(*cmd, *opts);
  add_format_option(*cmd, *format);
  cmd->callback([opts, format] {
    const OutputFormat f = parse_format(*format);
    const RunConfig config = opts->load();
    const StepProgram program = build_step_program(config);
    const ParamCounts params = count_params(program.modules);
    const MemoryResult memory = predict_memory(config, program);
    nlohmann::json j = {{"config", config.echo()}, {"params", params_json(params)}, {"memory", memory_json(memory)}};
    if (f == OutputFormat::json) std::cout << json_text(j);
    else if (f == OutputFormat::csv) std::cout << csv_from_json(j);
    else std::cout << memory_table(config, params, memory);
  });
}

}  // namespace zerosim
