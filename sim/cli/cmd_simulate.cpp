// zerosim simulate --config RUN.yaml [--set k=v]... [--trace trace.json] [--format table|json|csv]
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/engine/engine.h"
#include "sim/report/memory_report.h"
#include "sim/report/output_format.h"
#include "sim/platform/platform_setup.h"
#include "sim/cli/run_options.h"
#include "sim/report/simulate_report.h"
#include "workloads/config_error.h"

namespace zerosim {

void add_simulate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("simulate", "simulate one optimizer step on the cluster: time and memory");
  auto opts = std::make_shared<RunOptions>();
  auto format = std::make_shared<std::string>("table");
  auto trace = std::make_shared<std::string>();
  add_run_options(*cmd, *opts);
  add_format_option(*cmd, *format);
  cmd->add_option("--trace", *trace, "write a Chrome trace (open in Perfetto / chrome://tracing)");
  cmd->callback([opts, format, trace] {
    const OutputFormat f = parse_format(*format);
    const RunConfig config = opts->load();
    const StepProgram program = build_step_program(config);
    const ParamCounts params = count_params(program.modules);
    const MemoryResult memory = predict_memory(config, program);
    const StepGraph graph = build_step_graph(config, program);
    check_step_graph(graph);
    const PreparedPlatform platform(config);
    EngineOptions eo;
    eo.platform_file = platform.file();
    eo.rank_hosts = platform.rank_hosts();
    eo.gpus_per_node = platform.gpus_per_node();
    eo.nvls = platform.nvls();
    eo.comm.algorithm = nccl_algorithm(config.cluster.nccl_algo);
    eo.record_trace = !trace->empty();
    ComputeModel compute(platform.gpu());
    if (!config.calibration.empty())
      compute.use_calibration(std::make_shared<const calib::CalibrationTable>(calib::load_calibration(config.calibration)));
    const SimResult result = run_step(graph, compute, eo);
    const CriticalPath cp = critical_path(graph, result.task_durations);
    const Throughput tp = throughput(config, program, result, platform.gpu().bf16_flops);
    if (!trace->empty()) {
      std::ofstream out(*trace);
      if (!out) throw ConfigError(*trace, "--trace", "cannot write the trace file");
      out << chrome_trace(result).dump() << "\n";
    }
    nlohmann::json j = {{"config", config.echo()},           {"params", params_json(params)},
                        {"memory", memory_json(memory)},      {"time", time_json(result, cp)},
                        {"throughput", throughput_json(tp)}, {"compute_model", compute_model_json(graph, compute)}};
    if (f == OutputFormat::json) std::cout << json_text(j);
    else if (f == OutputFormat::csv) std::cout << csv_from_json(j);
    else std::cout << memory_table(config, params, memory) << time_table(result, tp, cp)
                   << compute_model_line(j["compute_model"]);
  });
}

}  // namespace zerosim
