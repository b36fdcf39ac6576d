#include "sim/batch/recommend_run.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <iterator>

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

void check_global_batch(int64_t global) {
  if (global < 0)
    throw ConfigError("--global-batch", std::to_string(global),
                      "sequences per optimizer step over all GPUs: >= 1 (or 0 for the config's grad_accum)");
}

void check_margin(double margin) {
  if (!(margin >= 0 && margin < kMaxMemoryMargin))  // NaN fails too
    throw ConfigError("--memory-margin", std::to_string(margin),
                      "a fraction of GPU memory to keep free, >= 0 and < " +
                          std::to_string(kMaxMemoryMargin) + " (default " +
                          std::to_string(kValidatedMemoryMargin) + ", docs/memory-model.md)");
}

// --checkpointing both | on | off as the values of train.activation_checkpointing.
std::vector<bool> checkpointing_values(const std::string& checkpointing) {
  std::vector<bool> out;
  if (checkpointing != "on") out.push_back(false);
  if (checkpointing != "off") out.push_back(true);
  return out;
}

// Which ZeRO settings a sweep covers: stages 0-3 without offload, or the offload variants (stages
// 1-3 with the optimizer on the CPU, stage 3 with the parameters too).
enum class Variants { without_offload, offload_only };

// --global-batch: every point accumulates global / (micro-batch x GPUs) micro-steps (train.grad_accum); a
// point whose micro-batch x GPUs does not divide the global batch is no candidate, and says why.
void fix_global_batch(Sweep& sweep, int64_t global) {
  for (SweepPoint& p : sweep.points) {
    if (!p.error.empty()) continue;
    const int64_t per_step =
        p.axes["train.micro_batch"].get<int64_t>() * p.axes["cluster.gpus"].get<int64_t>();
    if (global % per_step != 0) {
      p.error = "global batch " + std::to_string(global) +
                " is not a multiple of micro-batch x GPUs = " + std::to_string(per_step);
      continue;
    }
    YAML::Node config = YAML::Load(p.config_yaml);
    config["train"]["grad_accum"] = global / per_step;
    YAML::Emitter emitter;
    emitter << config;
    p.config_yaml = emitter.c_str();
    p.config["train"]["grad_accum"] = global / per_step;  // the echo the candidate is read from
  }
}

// The candidates as a sweep of the run config: GPU counts x stages x offload x micro-batches x
// checkpointing. The offload keys are axes in both sweeps, so a base config's own offload settings
// never leak into the candidates (stage 0 with offload would not even resolve).
Sweep candidate_sweep(const YAML::Node& base, const std::vector<int64_t>& gpus, const RecommendOptions& o,
                      Variants variants) {
  const bool offload = variants == Variants::offload_only;
  YAML::Node sweep(YAML::NodeType::Map);
  sweep["base"] = base;
  YAML::Node axes(YAML::NodeType::Map);
  for (int64_t g : gpus) axes["cluster.gpus"].push_back(g);
  for (int s = offload ? 1 : 0; s <= 3; ++s) axes["zero.stage"].push_back(s);
  axes["zero.offload_optimizer"].push_back(offload ? "cpu" : "none");
  axes["zero.offload_param"].push_back("none");
  if (offload) axes["zero.offload_param"].push_back("cpu");
  for (int64_t m : o.micro_batches) axes["train.micro_batch"].push_back(m);
  for (bool on : checkpointing_values(o.checkpointing)) axes["train.activation_checkpointing"].push_back(on);
  std::vector<std::string> optimizers = o.optimizers;
  if (offload)  // DeepSpeed's CPU offload runs DeepSpeedCPUAdam: no bitsandbytes optimizer there
    optimizers.erase(
        std::remove_if(optimizers.begin(), optimizers.end(),
                       [](const std::string& n) { return bitsandbytes_optimizer(optimizer_impl(n)); }),
        optimizers.end());
  if (!o.optimizers.empty() && optimizers.empty()) optimizers.push_back("fused");
  for (const std::string& n : optimizers) axes["train.optimizer"].push_back(n);
  sweep["axes"] = axes;
  if (offload) {
    // DeepSpeed offloads parameters only at stage 3 (zero/config.py); the config would refuse the rest.
    YAML::Node rule(YAML::NodeType::Map);
    rule["zero.stage"].push_back(1);
    rule["zero.stage"].push_back(2);
    rule["zero.offload_param"] = "cpu";
    sweep["exclude"].push_back(rule);
  }
  Sweep out = sweep_from_yaml(sweep, o.config);
  if (o.global_batch > 0) fix_global_batch(out, o.global_batch);
  return out;
}

// Runs the sweep's valid points in worker processes; each candidate gets its simulate JSON or error.
// `label` names the sweep in the progress lines.
std::vector<Candidate> simulate_candidates(const Sweep& sweep, size_t workers, const std::string& label) {
  std::vector<Candidate> candidates(sweep.points.size());
  std::vector<PointJob> jobs;
  for (const auto& p : sweep.points) {
    Candidate& c = candidates[p.index];
    c.gpus = p.axes["cluster.gpus"].get<int64_t>();
    c.stage = p.axes["zero.stage"].get<int>();
    c.micro_batch = p.axes["train.micro_batch"].get<int64_t>();
    c.checkpointing = p.axes["train.activation_checkpointing"].get<bool>();
    if (p.axes.contains("train.optimizer")) c.optimizer = p.axes["train.optimizer"].get<std::string>();
    if (!p.config.is_null()) c.grad_accum = p.config["train"]["grad_accum"].get<int64_t>();
    c.offload = offload_of(p.axes["zero.offload_optimizer"].get<std::string>(),
                           p.axes["zero.offload_param"].get<std::string>());
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
      std::cerr << "\r" << label << ": " << done << "/" << jobs.size() << " points" << std::flush;
    else if (done == jobs.size() || done % 50 == 0)
      std::cerr << label << ": " << done << "/" << jobs.size() << " points\n";
  });
  if (tty) std::cerr << "\n";
  if (status.interrupted) throw std::runtime_error("interrupted");
  return candidates;
}

// The offload sweep where its config cannot be built at all (a ConfigError that every offload point
// shares): each of its rows says why instead of the whole recommendation failing.
std::vector<Candidate> failed_offload_candidates(const std::vector<int64_t>& gpus, const std::string& why) {
  std::vector<Candidate> out;
  for (int64_t g : gpus)
    for (const OffloadVariant& v : kOffloadVariants) {
      Candidate c;
      c.gpus = g;
      c.stage = v.stage;
      c.offload = v.offload;
      c.error = why;
      out.push_back(c);
    }
  return out;
}

// The offload variants at `gpus`, simulated.
std::vector<Candidate> offload_candidates(const YAML::Node& base, const std::vector<int64_t>& gpus,
                                          const RecommendOptions& o) {
  Sweep sweep;
  try {
    sweep = candidate_sweep(base, gpus, o, Variants::offload_only);
  } catch (const ConfigError& e) {
    return failed_offload_candidates(gpus, e.what());
  }
  return simulate_candidates(sweep, o.jobs, "recommend (offload)");
}

// What was searched, for the JSON: the axes of the candidate sweep, and the GPU counts at which the
// offload variants were simulated.
nlohmann::json search_json(const std::vector<int64_t>& gpus, const RecommendOptions& o,
                           const std::vector<int64_t>& offload_gpus) {
  return {{"gpus", gpus},
          {"zero_stages", {0, 1, 2, 3}},
          {"micro_batches", o.micro_batches},
          {"activation_checkpointing", checkpointing_values(o.checkpointing)},
          {"optimizers", o.optimizers},
          {"offload", {{"mode", o.offload}, {"gpus", offload_gpus}}},
          {"memory_margin", o.memory_margin},
          {"global_batch", o.global_batch > 0 ? nlohmann::json(o.global_batch) : nlohmann::json()}};
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

template <typename T>
std::string listed(const std::vector<T>& values, const std::function<std::string(T)>& text) {
  std::string out;
  for (const T& v : values) out += (out.empty() ? "" : ", ") + text(v);
  return out;
}

// The table's header: what every candidate shares (model, PEFT, GPU type, sequence, precision), then
// the search space; never the base config's own stage, GPU count or micro-batch.
std::string search_title(const RunConfig& c, const std::vector<int64_t>& gpus, const RecommendOptions& o,
                         const std::vector<int64_t>& offload_gpus) {
  const auto number = [](int64_t v) { return std::to_string(v); };
  const auto on_off = [](bool v) { return std::string(v ? "on" : "off"); };
  std::string offload = "offload: " + o.offload;
  if (!offload_gpus.empty())
    offload += ", GPUs " + listed<int64_t>(offload_gpus, number) +
               (o.offload == "auto" ? " (nothing fits without)" : "") +
               " x ZeRO stages 1-3 + offload optimizer, ZeRO-3 + offload optimizer+param";
  else if (o.offload == "auto")
    offload += " (not needed: something fits without offload at every GPU count)";
  return "zerosim recommend: " + c.model.name + ", " + peft_title(c) + ", " + c.gpu.id + ", seq " +
         std::to_string(c.train.seq_len) + ", grad_accum " + std::to_string(c.train.grad_accum) + ", " +
         precision_name(c.train.precision) + "\nsearched: GPUs " + listed<int64_t>(gpus, number) +
         " x ZeRO stages 0-3 x micro-batch " + listed<int64_t>(o.micro_batches, number) +
         " x checkpointing " + listed<bool>(checkpointing_values(o.checkpointing), on_off) +
         (o.optimizers.empty()
              ? std::string()
              : " x optimizer " + listed<std::string>(o.optimizers, [](std::string v) { return v; })) +
         (o.global_batch > 0 ? ", global batch " + std::to_string(o.global_batch) +
                                   " sequences (grad_accum = global / (micro-batch x GPUs))"
                             : std::string()) +
         "\n" + offload + "\nfits: GPU peak <= " + percent(1.0 - o.memory_margin) +
         " of the GPU's memory (safety margin " + percent(o.memory_margin) +
         ", --memory-margin; the default is zerosim's largest validated under-prediction)";
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
  check_margin(o.memory_margin);
  check_global_batch(o.global_batch);

  const OffloadMode mode = parse_offload_mode(o.offload);

  std::vector<Candidate> candidates =
      simulate_candidates(candidate_sweep(base, gpus, o, Variants::without_offload), o.jobs, "recommend");
  // auto: offload only where it is the last resort; always: everywhere, ranked with the rest.
  std::vector<int64_t> offload_gpus;
  if (mode == OffloadMode::always) offload_gpus = gpus;
  if (mode == OffloadMode::automatic)
    offload_gpus = gpu_counts_where_nothing_fits(candidates, o.memory_margin);
  if (!offload_gpus.empty()) {
    std::vector<Candidate> more = offload_candidates(base, offload_gpus, o);
    candidates.insert(candidates.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
  }
  const auto verdicts = recommend(candidates, mode, o.memory_margin);
  if (f == OutputFormat::json)
    std::cout << json_text({{"config", resolved.echo()},
                            {"search", search_json(gpus, o, offload_gpus)},
                            {"recommendations", verdicts_json(verdicts)}});
  else
    std::cout << verdicts_table(verdicts, search_title(resolved, gpus, o, offload_gpus));
}

}  // namespace zerosim
