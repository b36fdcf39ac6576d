#include "sim/batch/recommend_run.h"

#include <unistd.h>

#include <functional>
#include <iostream>

#include "sim/batch/point_runner.h"
#include "sim/batch/recommendation.h"
#include "sim/batch/sweep_spec.h"
#include "sim/platform/platform_setup.h"
#include "sim/report/memory_report.h"
#include "sim/report/output_format.h"
#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

void check_counts(const std::vector<int64_t>& gpus, const std::vector<int64_t>& micro_batches) {
  for (int64_t g : gpus)
    if (g < 1) throw ConfigError("--gpus", std::to_string(g), "GPU counts must be >= 1");
  for (int64_t m : micro_batches)
    if (m < 1) throw ConfigError("--micro-batches", std::to_string(m), "micro-batches must be >= 1");
}

// --checkpointing both | on | off as the values of train.activation_checkpointing.
std::vector<bool> checkpointing_values(const std::string& checkpointing) {
  std::vector<bool> out;
  if (checkpointing != "on") out.push_back(false);
  if (checkpointing != "off") out.push_back(true);
  return out;
}

// The candidates as a sweep of the run config: GPU counts x stages x micro-batches x checkpointing.
Sweep candidate_sweep(const YAML::Node& base, const std::vector<int64_t>& gpus, const RecommendOptions& o) {
  YAML::Node sweep(YAML::NodeType::Map);
  sweep["base"] = base;
  YAML::Node axes(YAML::NodeType::Map);
  for (int64_t g : gpus) axes["cluster.gpus"].push_back(g);
  for (int s = 0; s <= 3; ++s) axes["zero.stage"].push_back(s);
  for (int64_t m : o.micro_batches) axes["train.micro_batch"].push_back(m);
  for (bool on : checkpointing_values(o.checkpointing)) axes["train.activation_checkpointing"].push_back(on);
  sweep["axes"] = axes;
  return sweep_from_yaml(sweep, o.config);
}

// Runs the sweep's valid points in worker processes; each candidate gets its simulate JSON or error.
std::vector<Candidate> simulate_candidates(const Sweep& sweep, size_t workers) {
  std::vector<Candidate> candidates(sweep.points.size());
  std::vector<PointJob> jobs;
  for (const auto& p : sweep.points) {
    Candidate& c = candidates[p.index];
    c.gpus = p.axes["cluster.gpus"].get<int64_t>();
    c.stage = p.axes["zero.stage"].get<int>();
    c.micro_batch = p.axes["train.micro_batch"].get<int64_t>();
    c.checkpointing = p.axes["train.activation_checkpointing"].get<bool>();
    if (!p.error.empty())
      c.error = p.error;
    else
      jobs.push_back({p.index, p.config_yaml});
  }
  PointRunnerOptions ro;
  ro.jobs = workers;
  size_t done = 0;
  const bool tty = isatty(STDERR_FILENO) != 0;
  const RunStatus status = run_points(jobs, ro, [&](const PointOutcome& out) {
    Candidate& c = candidates[out.id];
    if (out.exit_code == 0)
      c.result = nlohmann::json::parse(out.out);
    else
      c.error = out.err.empty() ? "worker exited with " + std::to_string(out.exit_code) : out.err;
    ++done;
    if (tty)
      std::cerr << "\rrecommend: " << done << "/" << jobs.size() << " points" << std::flush;
    else if (done == jobs.size() || done % 50 == 0)
      std::cerr << "recommend: " << done << "/" << jobs.size() << " points\n";
  });
  if (tty) std::cerr << "\n";
  if (status.interrupted) throw std::runtime_error("interrupted");
  return candidates;
}

// What was searched, for the JSON: the axes of the candidate sweep.
nlohmann::json search_json(const std::vector<int64_t>& gpus, const RecommendOptions& o) {
  return {{"gpus", gpus},
          {"zero_stages", {0, 1, 2, 3}},
          {"micro_batches", o.micro_batches},
          {"activation_checkpointing", checkpointing_values(o.checkpointing)}};
}

template <typename T>
std::string listed(const std::vector<T>& values, const std::function<std::string(T)>& text) {
  std::string out;
  for (const T& v : values) out += (out.empty() ? "" : ", ") + text(v);
  return out;
}

// The table's header: what every candidate shares (model, PEFT, GPU type, sequence, precision), then
// the search space; never the base config's own stage, GPU count or micro-batch.
std::string search_title(const RunConfig& c, const std::vector<int64_t>& gpus, const RecommendOptions& o) {
  const auto number = [](int64_t v) { return std::to_string(v); };
  const auto on_off = [](bool v) { return std::string(v ? "on" : "off"); };
  return "zerosim recommend: " + c.model.name + ", " + peft_title(c) + ", " + c.gpu.id + ", seq " +
         std::to_string(c.train.seq_len) + ", grad_accum " + std::to_string(c.train.grad_accum) + ", " +
         precision_name(c.train.precision) + "\nsearched: GPUs " + listed<int64_t>(gpus, number) +
         " x ZeRO stages 0-3 x micro-batch " + listed<int64_t>(o.micro_batches, number) +
         " x checkpointing " + listed<bool>(checkpointing_values(o.checkpointing), on_off);
}

}  // namespace

void run_recommend(const RecommendOptions& o) {
  const OutputFormat f = parse_format(o.format);
  YAML::Node base = parse_yaml_file(o.config, "run config");
  if (!base || base.IsNull()) base = YAML::Node(YAML::NodeType::Map);
  for (const auto& s : o.sets) apply_override(base, parse_override(s), o.config);
  RunConfig resolved = run_config_from_yaml(YAML::Clone(base), o.config);  // errors name the file
  apply_platform_file(resolved);  // a platform file's GPUs, and all of them unless cluster.gpus says
  const std::vector<int64_t> gpus = o.gpus.empty() ? std::vector<int64_t>{resolved.cluster.gpus} : o.gpus;
  check_counts(gpus, o.micro_batches);

  const std::vector<Candidate> candidates = simulate_candidates(candidate_sweep(base, gpus, o), o.jobs);
  const auto verdicts = recommend(candidates);
  if (f == OutputFormat::json)
    std::cout << json_text({{"config", resolved.echo()},
                            {"search", search_json(gpus, o)},
                            {"recommendations", verdicts_json(verdicts)}});
  else
    std::cout << verdicts_table(verdicts, search_title(resolved, gpus, o));
}

}  // namespace zerosim
