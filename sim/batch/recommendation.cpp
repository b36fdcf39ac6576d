#include "sim/batch/recommendation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "sim/batch/memory_margin.h"
#include "workloads/config_error.h"
#include "workloads/units.h"

namespace zerosim {

OffloadMode parse_offload_mode(const std::string& text) {
  if (text == "never") return OffloadMode::never;
  if (text == "auto") return OffloadMode::automatic;
  if (text == "always") return OffloadMode::always;
  throw ConfigError("--offload", "", "'" + text + "' is not an offload mode (allowed: auto, never, always)");
}

const char* offload_mode_name(OffloadMode mode) {
  switch (mode) {
    case OffloadMode::never:
      return "never";
    case OffloadMode::automatic:
      return "auto";
    case OffloadMode::always:
      return "always";
  }
  return "auto";
}

std::string offload_of(const std::string& offload_optimizer, const std::string& offload_param) {
  if (offload_param != kOffloadNone)
    return kOffloadOptimizerParam;  // the sweeps pair it with the optimizer's
  if (offload_optimizer != kOffloadNone) return kOffloadOptimizer;
  return kOffloadNone;
}

std::string variant_name(int stage, const std::string& offload) {
  return "ZeRO-" + std::to_string(stage) + (offload == kOffloadNone ? "" : " + offload " + offload);
}

namespace {

constexpr double kTie = 0.01;

int offload_rank(const std::string& offload) {
  if (offload == kOffloadNone) return 0;
  return offload == kOffloadOptimizer ? 1 : 2;
}
bool offloads(const Candidate& c) { return c.offload != kOffloadNone; }

double gib_of(const nlohmann::json& bytes) {
  return static_cast<double>(bytes.get<int64_t>()) / kBytesPerGiB;
}

// memory.fits covers host RAM where the JSON has memory.host; memory.gpu_fits the GPU alone (absent
// before host RAM was modelled: then fits is the GPU's verdict). Both here also keep `margin` of the
// GPU's memory free (memory_margin.h).
bool gpu_fits(const Candidate& c, double margin) {
  if (c.result.is_null()) return false;
  const nlohmann::json& m = c.result["memory"];
  return m.value("gpu_fits", m["fits"].get<bool>()) &&
         fits_with_margin(m["peak_bytes"].get<int64_t>(), m["capacity_bytes"].get<int64_t>(), margin);
}
bool fits(const Candidate& c, double margin) {
  return gpu_fits(c, margin) && c.result["memory"]["fits"].get<bool>();
}
const nlohmann::json* host_memory(const Candidate& c) {
  if (c.result.is_null() || !c.result["memory"].contains("host")) return nullptr;
  return &c.result["memory"]["host"];
}
double tokens_per_s(const Candidate& c) { return c.result["throughput"]["tokens_per_s"].get<double>(); }
double peak_gib(const Candidate& c) { return gib_of(c.result["memory"]["peak_bytes"]); }
double component_gib(const Candidate& c, const char* name) {
  return gib_of(c.result["memory"]["breakdown"][name]);
}
double time_ms(const Candidate& c, const char* name) { return c.result["time"][name].get<double>() * 1e3; }
// Time keys that not every JSON has (offload runs, the host timeline): 0 where absent.
double optional_time_ms(const Candidate& c, const char* name) {
  return c.result["time"].value(name, 0.0) * 1e3;
}

// Deterministic preference: tokens/s; within 1% (below what the model can resolve) the smaller
// peak memory, then the smaller stage and micro-batch, then no offload before offload.
bool better(const Candidate& a, const Candidate& b) {
  const double ta = tokens_per_s(a), tb = tokens_per_s(b);
  if (std::fabs(ta - tb) > kTie * std::max(ta, tb)) return ta > tb;
  // Equally fast: keep the states on the GPU (offload needs host RAM and CPU time the GPU peak hides).
  if (a.offload != b.offload) return offload_rank(a.offload) < offload_rank(b.offload);
  if (peak_gib(a) != peak_gib(b)) return peak_gib(a) < peak_gib(b);
  if (a.stage != b.stage) return a.stage < b.stage;
  return a.micro_batch < b.micro_batch;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string settings(const Candidate& c) {
  return "micro-batch " + std::to_string(c.micro_batch) +
         (c.grad_accum > 1 ? " x " + std::to_string(c.grad_accum) + " accumulated" : "") +
         (c.checkpointing ? " with checkpointing" : "") +
         (c.optimizer.empty() ? std::string() : ", optimizer " + c.optimizer);
}

// What a stage changes against stage 0 at the same settings: memory by component, time by cause.
std::string compare_to_stage0(const Candidate& c, const Candidate* s0) {
  if (!s0 || s0->result.is_null() || c.stage == 0) return "";
  std::string out;
  const std::pair<const char*, const char*> parts[] = {
      {"frozen_params", "frozen weights"},      {"trainable_params", "trainable weights"},
      {"optimizer_states", "optimizer states"}, {"gradients", "gradients"},
      {"buffers", "gradient buckets"},          {"temporaries", "gathered params/temporaries"}};
  for (const auto& [key, label] : parts) {
    const double d = component_gib(c, key) - component_gib(*s0, key);
    if (std::fabs(d) >= 0.01) out += std::string(out.empty() ? "" : ", ") + label + " " + fmt("%+.2f GiB", d);
  }
  const double dpeak = peak_gib(c) - peak_gib(*s0);
  out = (out.empty() ? "" : out + ": ") + "peak " + fmt("%+.2f GiB", dpeak) + " vs stage 0";
  const double speed = tokens_per_s(c) / tokens_per_s(*s0) - 1.0;
  out += "; " + fmt("%+.1f%%", 100.0 * speed) + " tokens/s";
  const double comm = time_ms(c, "exposed_comm_s") - time_ms(*s0, "exposed_comm_s");
  // Waiting for the training thread (launches, ZeRO-3's hooks); 0 in JSON from before the host was modelled.
  const double host = optional_time_ms(c, "exposed_host_s") - optional_time_ms(*s0, "exposed_host_s");
  if (comm >= 0.5) out += ", exposed communication " + fmt("%+.1f ms", comm);
  if (host >= 0.5) out += ", waiting for the host (launches, ZeRO hooks) " + fmt("%+.1f ms", host);
  return out;
}

// What offload costs in the step and holds on the host: DeepSpeedCPUAdam's time, the copies the
// GPU waits for, and the host RAM per node where the JSON has it.
std::string offload_costs(const Candidate& c) {
  std::string out = "CPU optimizer " + fmt("%.1f ms", optional_time_ms(c, "cpu_optimizer_s")) +
                    ", exposed offload copies " +
                    fmt("%.1f ms", optional_time_ms(c, "exposed_offload_copy_s"));
  if (const nlohmann::json* host = host_memory(c))
    out += ", host RAM " + fmt("%.2f GiB", gib_of((*host)["per_node_bytes"])) + " per node of " +
           fmt("%.2f GiB", gib_of((*host)["capacity_bytes"]));
  return out;
}

using CandidateList = std::vector<const Candidate*>;

// The first of the fastest (by `better`) that fit; null if none fits.
const Candidate* fastest_that_fits(const CandidateList& list, double margin) {
  const Candidate* best = nullptr;
  for (const Candidate* c : list)
    if (fits(*c, margin) && (!best || better(*c, *best))) best = c;
  return best;
}

// The successful simulation with the smallest peak memory; null if none succeeded.
const Candidate* smallest_peak(const CandidateList& list) {
  const Candidate* smallest = nullptr;
  for (const Candidate* c : list)
    if (!c->result.is_null() && (!smallest || peak_gib(*c) < peak_gib(*smallest))) smallest = c;
  return smallest;
}

// Of the runs that fit the GPU but not host RAM, the one needing the least host RAM; null if none.
const Candidate* smallest_host_overflow(const CandidateList& list, double margin) {
  const Candidate* smallest = nullptr;
  const auto need = [](const Candidate& c) { return (*host_memory(c))["per_node_bytes"].get<int64_t>(); };
  for (const Candidate* c : list)
    if (gpu_fits(*c, margin) && !fits(*c, margin) && host_memory(*c) &&
        (!smallest || need(*c) < need(*smallest)))
      smallest = c;
  return smallest;
}

// The stage-0 run at c's micro-batch and checkpointing (the last one listed); null if there is none.
const Candidate* stage0_twin(const CandidateList& list, const Candidate& c) {
  const Candidate* s0 = nullptr;
  for (const Candidate* other : list)
    if (other->stage == 0 && !offloads(*other) && other->micro_batch == c.micro_batch &&
        other->checkpointing == c.checkpointing)
      s0 = other;
  return s0;
}

// Why `best` is its row's pick, what the stage changes against stage 0 (`s0`, may be null), and
// what offload costs.
std::string best_reason(const Candidate& best, bool is_winner, const Candidate* s0) {
  std::string reason = is_winner ? "fastest that fits (" + settings(best) + ")" : "best at " + settings(best);
  const std::string cmp = compare_to_stage0(best, s0);
  if (!cmp.empty())
    reason += "; " + cmp;
  else if (best.stage == 0)
    reason += "; no parameter traffic, " + fmt("%.1f ms", time_ms(best, "exposed_comm_s")) +
              " exposed communication";
  if (offloads(best)) reason += "; " + offload_costs(best);
  return reason;
}

// With a margin, the usable share of the card too: a peak under the capacity may still be refused.
std::string does_not_fit_reason(const Candidate& smallest, double margin) {
  const double capacity_gib = gib_of(smallest.result["memory"]["capacity_bytes"]);
  std::string out = "does not fit: needs at least " + fmt("%.2f GiB", peak_gib(smallest)) + " (" +
                    settings(smallest) + ") of " + fmt("%.2f GiB", capacity_gib);
  if (margin > 0)
    out += fmt(" (%.2f GiB usable with the ", capacity_gib * (1.0 - margin)) +
           fmt("%.1f%% safety margin)", 100.0 * margin);
  return out;
}

// The GPU would hold it; the node's RAM cannot hold what offload puts there.
std::string host_ram_reason(const Candidate& c) {
  const nlohmann::json& host = *host_memory(c);
  return "does not fit: host RAM: needs " + fmt("%.2f GiB", gib_of(host["per_node_bytes"])) +
         " per node of " + fmt("%.2f GiB", gib_of(host["capacity_bytes"])) + " (" + settings(c) +
         "); GPU peak " + fmt("%.2f GiB", peak_gib(c)) + " fits";
}

// No simulation of the row succeeded: the first error recorded, if any, says why.
std::string failure_reason(const CandidateList& in_row) {
  std::string reason = "no successful simulation";
  for (const Candidate* c : in_row)
    if (!c->error.empty()) return reason + ": " + c->error;
  return reason;
}

// One row's verdict (a stage with one offload setting) among the candidates of one GPU count, whose
// overall pick is `winner`.
StageVerdict stage_verdict(const CandidateList& list, int stage, const std::string& offload,
                           const Candidate* winner, double margin) {
  CandidateList in_row;
  for (const Candidate* c : list)
    if (c->stage == stage && c->offload == offload) in_row.push_back(c);
  StageVerdict sv;
  sv.stage = stage;
  sv.offload = offload;
  sv.best = fastest_that_fits(in_row, margin);
  if (sv.best)
    sv.reason = best_reason(*sv.best, sv.best == winner, stage0_twin(list, *sv.best));
  else if (const Candidate* host = smallest_host_overflow(in_row, margin))
    sv.reason = host_ram_reason(*host);
  else if (const Candidate* smallest = smallest_peak(in_row))
    sv.reason = does_not_fit_reason(*smallest, margin);
  else
    sv.reason = failure_reason(in_row);
  return sv;
}

// The candidates that may win: offload ones always (always), only where nothing without offload fits
// (automatic), or never.
CandidateList contenders(const CandidateList& list, OffloadMode mode, double margin) {
  if (mode == OffloadMode::always) return list;
  CandidateList without;
  for (const Candidate* c : list)
    if (!offloads(*c)) without.push_back(c);
  if (mode == OffloadMode::automatic && !fastest_that_fits(without, margin)) return list;
  return without;
}

}  // namespace

std::vector<int64_t> gpu_counts_where_nothing_fits(const std::vector<Candidate>& candidates, double margin) {
  std::map<int64_t, bool> any_fits;
  for (const auto& c : candidates) any_fits[c.gpus] = any_fits[c.gpus] || fits(c, margin);
  std::vector<int64_t> out;
  for (const auto& [gpus, fit] : any_fits)
    if (!fit) out.push_back(gpus);
  return out;
}

std::vector<GpuCountVerdict> recommend(const std::vector<Candidate>& candidates, OffloadMode mode,
                                       double margin) {
  std::map<int64_t, CandidateList> by_gpus;
  for (const auto& c : candidates) by_gpus[c.gpus].push_back(&c);
  std::vector<GpuCountVerdict> out;
  for (const auto& [gpus, list] : by_gpus) {
    GpuCountVerdict v;
    v.gpus = gpus;
    v.winner = fastest_that_fits(contenders(list, mode, margin), margin);
    for (int stage = 0; stage <= 3; ++stage)
      v.stages.push_back(stage_verdict(list, stage, kOffloadNone, v.winner, margin));
    for (const OffloadVariant& ov : kOffloadVariants) {
      const bool searched = std::any_of(list.begin(), list.end(), [&](const Candidate* c) {
        return c->stage == ov.stage && c->offload == ov.offload;
      });
      if (searched) v.stages.push_back(stage_verdict(list, ov.stage, ov.offload, v.winner, margin));
    }
    out.push_back(v);
  }
  return out;
}

namespace {
// The train.optimizer the candidate ran: its --optimizers value, else its simulate JSON's config.
std::string optimizer_of(const Candidate& c) {
  if (!c.optimizer.empty()) return c.optimizer;
  const nlohmann::json& r = c.result;
  if (r.is_object() && r.contains("config") && r["config"].contains("train"))
    return r["config"]["train"].value("optimizer", std::string());
  return std::string();
}

nlohmann::json candidate_json(const Candidate& c) {
  nlohmann::json j = {{"zero_stage", c.stage},
                      {"offload", c.offload},
                      {"micro_batch", c.micro_batch},
                      {"grad_accum", c.grad_accum},
                      {"activation_checkpointing", c.checkpointing},
                      {"optimizer", optimizer_of(c)},
                      {"peak_bytes", c.result["memory"]["peak_bytes"]},
                      {"fits", c.result["memory"]["fits"]},
                      {"step_s", c.result["time"]["step_s"]},
                      {"tokens_per_s", c.result["throughput"]["tokens_per_s"]},
                      {"exposed_comm_s", c.result["time"]["exposed_comm_s"]},
                      {"overhead_s", c.result["time"]["overhead_s"]},
                      {"exposed_host_s", c.result["time"].value("exposed_host_s", 0.0)},
                      {"cpu_optimizer_s", c.result["time"].value("cpu_optimizer_s", 0.0)},
                      {"exposed_offload_copy_s", c.result["time"].value("exposed_offload_copy_s", 0.0)}};
  if (const nlohmann::json* host = host_memory(c)) j["host_per_node_bytes"] = (*host)["per_node_bytes"];
  return j;
}

bool offload_searched(const GpuCountVerdict& v) {
  return std::any_of(v.stages.begin(), v.stages.end(),
                     [](const StageVerdict& s) { return s.offload != kOffloadNone; });
}
}  // namespace

nlohmann::json verdicts_json(const std::vector<GpuCountVerdict>& verdicts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : verdicts) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : v.stages)
      stages.push_back({{"stage", s.stage},
                        {"offload", s.offload},
                        {"best", s.best ? candidate_json(*s.best) : nlohmann::json()},
                        {"reason", s.reason}});
    out.push_back({{"gpus", v.gpus},
                   {"winner", v.winner ? candidate_json(*v.winner) : nlohmann::json()},
                   {"stages", stages}});
  }
  return out;
}

std::string verdicts_table(const std::vector<GpuCountVerdict>& verdicts, const std::string& title) {
  std::string out = title + "\n";
  char line[256];
  for (const auto& v : verdicts) {
    out += "\n" + std::to_string(v.gpus) + " GPU" + (v.gpus > 1 ? "s" : "") + ": ";
    if (v.winner) {
      out += "use ZeRO stage " + std::to_string(v.winner->stage) +
             (offloads(*v.winner) ? " + offload " + v.winner->offload : "") + ", " + settings(*v.winner) +
             fmt(": %.0f tokens/s", tokens_per_s(*v.winner)) + fmt(", %.2f GiB per GPU", peak_gib(*v.winner));
      if (const nlohmann::json* host = host_memory(*v.winner); host && offloads(*v.winner))
        out += fmt(", %.2f GiB host RAM per node", gib_of((*host)["per_node_bytes"]));
      out += "\n";
    } else if (offload_searched(v)) {
      out += "nothing fits, CPU offload included (try more GPUs, checkpointing or a shorter sequence)\n";
    } else {
      out +=
          "nothing fits (try more GPUs, checkpointing, a shorter sequence or CPU offload: --offload auto)\n";
    }
    // The first column is as wide as its longest row name ("ZeRO-3 + offload optimizer+param").
    int width = 5;
    for (const auto& s : v.stages)
      width = std::max(width, static_cast<int>(variant_name(s.stage, s.offload).size()));
    std::snprintf(line, sizeof line, "  %-*s %-7s %-5s %9s %9s %11s  %s\n", width + 1, "stage", "micro-b",
                  "ckpt", "peak GiB", "step ms", "tokens/s", "why");
    out += line;
    for (const auto& s : v.stages) {
      const std::string name = (s.best && s.best == v.winner ? "*" : " ") + variant_name(s.stage, s.offload);
      if (s.best)
        std::snprintf(line, sizeof line, "  %-*s %-7lld %-5s %9.2f %9.1f %11.0f  ", width + 1, name.c_str(),
                      static_cast<long long>(s.best->micro_batch), s.best->checkpointing ? "yes" : "no",
                      peak_gib(*s.best), time_ms(*s.best, "step_s"), tokens_per_s(*s.best));
      else
        std::snprintf(line, sizeof line, "  %-*s %-7s %-5s %9s %9s %11s  ", width + 1, name.c_str(), "-", "-",
                      "-", "-", "-");
      out += line + s.reason + "\n";  // the reason may be longer than any fixed buffer
    }
  }
  return out;
}

}  // namespace zerosim
