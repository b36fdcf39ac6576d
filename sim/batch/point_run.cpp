#include "sim/batch/point_run.h"

#include <fstream>
#include <iostream>

#include "sim/batch/platform_engine_options.h"
#include "sim/batch/run_calibration_file.h"
#include "sim/batch/run_warnings.h"
#include "sim/engine/engine.h"
#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_setup.h"
#include "sim/report/memory_report.h"
#include "sim/report/output_format.h"
#include "sim/report/simulate_report.h"
#include "workloads/config_error.h"
#include "workloads/micro_step_lengths.h"

namespace zerosim {
namespace {

// CPU offload's rates: the node's host (config.host: the catalogue's, the cluster keys', or the platform
// file's CPU hosts) and the GPU's PCIe link (docs/time-model.md, "CPU offload").
OffloadModel offload_model(const RunConfig& config) {
  const InterconnectCatalogue& cat = interconnect_catalogue();
  const HostSpec& host = config.host;
  OffloadModel om;
  om.pcie_bytes_s = cat.pcie_rate(resolve_pcie_gen(config.cluster.pcie_gen, config.gpu.id));
  om.cpu_adam_elements_per_s_per_core = host.cpu_adam_elements_per_s_per_core;
  om.mem_bw_bytes_s = host.mem_bw_bytes_s * static_cast<double>(host.sockets);
  om.numa_nodes = host.numa_nodes();
  om.numa_node_memory_bytes = host.memory_bytes / host.numa_nodes();
  om.cores = host.cores();
  om.ranks_per_node = config.cluster.ranks_per_node();
  om.cpu_threads_per_rank = config.cluster.cpu_threads(host.cores());
  return om;
}

EngineOptions engine_options(const RunConfig& config, const PreparedPlatform& platform, bool record_trace) {
  EngineOptions eo = platform_engine_options(platform, config.versions.nccl);
  eo.comm.algorithm = nccl_algorithm(config.cluster.nccl_algo);
  eo.nccl_algo_file = config.file;
  eo.comm.ctas_per_collective = nccl_collective_ctas(config.cluster.intra);
  eo.comm.channels = eo.comm.ctas_per_collective;
  eo.record_trace = record_trace;
  eo.offload = offload_model(config);
  eo.rank_cpu_hosts = platform.rank_cpu_hosts();
  return eo;
}

void write_trace(const std::string& path, const SimResult& result) {
  std::ofstream out(path);
  if (!out) throw ConfigError(path, "--trace", "cannot write the trace file");
  out << chrome_trace(result).dump() << "\n";
}

// Prints the warnings on stderr and returns them for the JSON's `warnings` array.
nlohmann::json warnings_json(const std::vector<std::string>& warnings) {
  print_warnings(warnings);
  return warnings;
}

}  // namespace

RunConfig load_run(const std::string& config_path, const std::vector<std::string>& sets) {
  std::vector<Override> overrides;
  overrides.reserve(sets.size());
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  RunConfig config = load_run_config(config_path, overrides);
  apply_platform_file(config);  // a platform file says which GPUs the hosts are, and how many
  config.cluster.intra = resolve_intra(config.cluster.intra, config.gpu.id);
  config.cluster.pcie_gen = resolve_pcie_gen(config.cluster.pcie_gen, config.gpu.id);
  return config;
}

namespace {

// What `memory` and `simulate` both compute first: the run, its step program, parameters and memory.
struct PointMemory {
  RunConfig config;
  StepProgram program;
  ParamCounts params;
  MemoryResult memory;
};

PointMemory predict_point_memory(const std::string& config_path, const std::vector<std::string>& sets) {
  PointMemory p{load_run(config_path, sets), {}, {}, {}};
  p.program = build_step_program(p.config);
  p.params = count_params(p.program.modules);
  p.memory = predict_memory(p.config, p.program);
  return p;
}

}  // namespace

void run_memory(const MemoryReportOptions& o) {
  const OutputFormat f = parse_format(o.format);
  const PointMemory p = predict_point_memory(o.config_path, o.sets);
  nlohmann::json j = {{"config", p.config.echo()},
                      {"params", params_json(p.params)},
                      {"memory", memory_json(p.memory)},
                      {"warnings", nullptr}};
  std::vector<std::string> warnings = config_warnings(p.config);
  for (auto& w : memory_warnings(p.config, p.memory)) warnings.push_back(w);
  j["warnings"] = warnings_json(warnings);
  std::cout << formatted(f, j, [&] { return memory_table(p.config, p.params, p.memory); });
}

void run_simulate(const SimulateOptions& o) {
  const OutputFormat f = parse_format(o.format);
  PointMemory p = predict_point_memory(o.config_path, o.sets);
  // Variable-length batches: each micro-step at its group's mean length (micro_step_lengths.h).
  const MicroStepPrograms micro = micro_step_programs(p.config, p.program);
  const StepGraph graph =
      build_step_graph(p.config, p.program, p.memory.paged_evicted_bytes, micro.per_micro_step);
  check_step_graph(graph);
  // Before the platform: a calibrated host's figures go into the CPU hosts and memory links it builds.
  const auto calibration = load_run_calibration(p.config);
  if (calibration) apply_calibrated_host(p.config, *calibration);
  const PreparedPlatform platform(p.config);
  const double peak = matmul_peak_flops(platform.gpu(), matmul_math(p.config));
  if (peak <= 0)
    throw ConfigError(p.config.cluster.platform, "host '" + platform.gpu().id + "'",
                      std::string("train.precision fp32 needs the GPU's ") +
                          (p.config.train.tf32 ? "tf32_flops" : "fp32_flops") +
                          " prop: the platform file's GPU is not in the catalogue and does not give it");
  ComputeModel compute(platform.gpu());
  if (calibration && calibration->has_ops()) compute.use_calibration(calibration);
  const SimResult result =
      run_step(graph, compute, engine_options(p.config, platform, !o.trace_path.empty()));
  const CriticalPath cp = critical_path(graph, result.task_durations);
  // MFU against the peak the run's matmuls use (bf16/fp16, or fp32 / TF32 in fp32 training).
  const Throughput tp = throughput(p.config.cluster.gpus, micro.tokens, micro.model_flops, result, peak);
  if (!o.trace_path.empty()) write_trace(o.trace_path, result);
  nlohmann::json j = {{"config", p.config.echo()},
                      {"params", params_json(p.params)},
                      {"memory", memory_json(p.memory)},
                      {"time", time_json(result, cp)},
                      {"throughput", throughput_json(tp)},
                      {"compute_model", compute_model_json(graph, compute)},
                      {"host_model", host_model_json(p.config.host, calibration.get())}};
  std::vector<std::string> warnings = config_warnings(p.config);
  for (auto& w : memory_warnings(p.config, p.memory)) warnings.push_back(w);
  for (auto& w : calibration_warnings(p.config, calibration.get(), j["compute_model"])) warnings.push_back(w);
  for (auto& w : platform_warnings(p.config, platform.rank_cpu_hosts())) warnings.push_back(w);
  j["warnings"] = warnings_json(warnings);
  std::cout << formatted(f, j, [&] {
    return memory_table(p.config, p.params, p.memory) + time_table(result, tp, cp) +
           compute_model_line(j["compute_model"]) +
           (result.cpu_optimizer_s > 0 ? host_model_line(j["host_model"]) : std::string());
  });
}

}  // namespace zerosim
