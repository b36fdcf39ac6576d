// zerosim recommend --config RUN.yaml [--set k=v]... [--gpus 1,2,4,8] [--micro-batches 1,2,4,8]
//                   [--checkpointing both|on|off] [-j N] [--format table|json]
// For each GPU count: ZeRO stages 0-3 x micro-batch x activation checkpointing, each simulated in its
// own process; keeps what fits, ranks by tokens/s and explains every stage from the breakdowns.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <iostream>

#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/report/memory_report.h"
#include "sim/report/output_format.h"
#include "sim/batch/point_runner.h"
#include "sim/batch/recommendation.h"
#include "sim/batch/sweep_spec.h"
#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {

void add_recommend_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("recommend", "which ZeRO stage, micro-batch and checkpointing per GPU count");
  struct Options {
    std::string config, format = "table", checkpointing = "both";
    std::vector<std::string> sets;
    std::vector<int64_t> gpus, micro_batches = {1, 2, 4, 8};
    size_t jobs = 0;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--config", o->config, "run config (RUN.yaml)")->required();
  cmd->add_option("--set", o->sets, "override a config key (repeatable)");
  cmd->add_option("--gpus", o->gpus, "GPU counts to compare (default: the config's cluster.gpus)")->delimiter(',');
  cmd->add_option("--micro-batches", o->micro_batches, "micro-batch sizes to try")->delimiter(',')->capture_default_str();
  cmd->add_option("--checkpointing", o->checkpointing, "activation checkpointing: both | on | off")
      ->check(CLI::IsMember({"both", "on", "off"}))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", o->jobs, "worker processes (default: the CPUs available)");
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o] {
    const OutputFormat f = parse_format(o->format);
    YAML::Node base = parse_yaml_file(o->config, "run config");
    if (!base || base.IsNull()) base = YAML::Node(YAML::NodeType::Map);
    for (const auto& s : o->sets) apply_override(base, parse_override(s), o->config);
    const RunConfig resolved = run_config_from_yaml(YAML::Clone(base), o->config);  // errors name the file
    if (o->gpus.empty()) o->gpus = {resolved.cluster.gpus};
    for (int64_t g : o->gpus)
      if (g < 1) throw ConfigError("--gpus", std::to_string(g), "GPU counts must be >= 1");
    for (int64_t m : o->micro_batches)
      if (m < 1) throw ConfigError("--micro-batches", std::to_string(m), "micro-batches must be >= 1");

    YAML::Node sweep(YAML::NodeType::Map);
    sweep["base"] = base;
    YAML::Node axes(YAML::NodeType::Map);
    for (int64_t g : o->gpus) axes["cluster.gpus"].push_back(g);
    for (int s = 0; s <= 3; ++s) axes["zero.stage"].push_back(s);
    for (int64_t m : o->micro_batches) axes["train.micro_batch"].push_back(m);
    if (o->checkpointing != "on") axes["train.activation_checkpointing"].push_back(false);
    if (o->checkpointing != "off") axes["train.activation_checkpointing"].push_back(true);
    sweep["axes"] = axes;
    const Sweep points = sweep_from_yaml(sweep, o->config);

    std::vector<Candidate> candidates(points.points.size());
    std::vector<PointJob> jobs;
    for (const auto& p : points.points) {
      Candidate& c = candidates[p.index];
      c.gpus = p.axes["cluster.gpus"].get<int64_t>();
      c.stage = p.axes["zero.stage"].get<int>();
      c.micro_batch = p.axes["train.micro_batch"].get<int64_t>();
      c.checkpointing = p.axes["train.activation_checkpointing"].get<bool>();
      if (!p.error.empty()) c.error = p.error;
      else jobs.push_back({p.index, p.config_yaml});
    }
    PointRunnerOptions ro;
    ro.jobs = o->jobs;
    size_t done = 0;
    const bool tty = isatty(STDERR_FILENO) != 0;
    const RunStatus status = run_points(jobs, ro, [&](const PointOutcome& out) {
      Candidate& c = candidates[out.id];
      if (out.exit_code == 0) c.result = nlohmann::json::parse(out.out);
      else c.error = out.err.empty() ? "worker exited with " + std::to_string(out.exit_code) : out.err;
      ++done;
      if (tty) std::cerr << "\rrecommend: " << done << "/" << jobs.size() << " points" << std::flush;
      else if (done == jobs.size() || done % 50 == 0) std::cerr << "recommend: " << done << "/" << jobs.size() << " points\n";
    });
    if (tty) std::cerr << "\n";
    if (status.interrupted) throw std::runtime_error("interrupted");
    const auto verdicts = recommend(candidates);
    if (f == OutputFormat::json)
      std::cout << json_text({{"config", resolved.echo()}, {"recommendations", verdicts_json(verdicts)}});
    else
      std::cout << verdicts_table(verdicts, "zerosim recommend: " + resolved.model.name + ", " + run_title(resolved).substr(resolved.model.name.size() + 2));
  });
}

}  // namespace zerosim
