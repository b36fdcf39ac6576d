#include "sim/batch/recommendation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "workloads/units.h"

namespace zerosim {

namespace {

constexpr double kTie = 0.01;

bool fits(const Candidate& c) { return !c.result.is_null() && c.result["memory"]["fits"].get<bool>(); }
double tokens_per_s(const Candidate& c) { return c.result["throughput"]["tokens_per_s"].get<double>(); }
double peak_gib(const Candidate& c) {
  return static_cast<double>(c.result["memory"]["peak_bytes"].get<int64_t>()) / kBytesPerGiB;
}
double component_gib(const Candidate& c, const char* name) {
  return static_cast<double>(c.result["memory"]["breakdown"][name].get<int64_t>()) / kBytesPerGiB;
}
double time_ms(const Candidate& c, const char* name) { return c.result["time"][name].get<double>() * 1e3; }

// Deterministic preference: tokens/s; within 1% (below what the model can resolve) the smaller
// peak memory, then the smaller stage and micro-batch.
bool better(const Candidate& a, const Candidate& b) {
  const double ta = tokens_per_s(a), tb = tokens_per_s(b);
  if (std::fabs(ta - tb) > kTie * std::max(ta, tb)) return ta > tb;
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
  return "micro-batch " + std::to_string(c.micro_batch) + (c.checkpointing ? " with checkpointing" : "");
}

// What a stage changes against stage 0 at the same settings: memory by component, time by cause.
std::string compare_to_stage0(const Candidate& c, const Candidate* s0) {
  if (!s0 || s0->result.is_null() || c.stage == 0) return "";
  std::string out;
  const std::pair<const char*, const char*> parts[] = {{"frozen_params", "frozen weights"},
                                                       {"optimizer_states", "optimizer states"},
                                                       {"gradients", "gradients"},
                                                       {"buffers", "gradient buckets"},
                                                       {"temporaries", "gathered params/temporaries"}};
  for (const auto& [key, label] : parts) {
    const double d = component_gib(c, key) - component_gib(*s0, key);
    if (std::fabs(d) >= 0.01) out += std::string(out.empty() ? "" : ", ") + label + " " + fmt("%+.2f GiB", d);
  }
  const double dpeak = peak_gib(c) - peak_gib(*s0);
  out = (out.empty() ? "" : out + ": ") + "peak " + fmt("%+.2f GiB", dpeak) + " vs stage 0";
  const double speed = tokens_per_s(c) / tokens_per_s(*s0) - 1.0;
  out += "; " + fmt("%+.1f%%", 100.0 * speed) + " tokens/s";
  const double comm = time_ms(c, "exposed_comm_s") - time_ms(*s0, "exposed_comm_s");
  const double hooks = time_ms(c, "overhead_s") - time_ms(*s0, "overhead_s");
  if (comm >= 0.5) out += ", exposed communication " + fmt("%+.1f ms", comm);
  if (hooks >= 0.5) out += ", ZeRO hooks " + fmt("%+.1f ms", hooks);
  return out;
}

using CandidateList = std::vector<const Candidate*>;

// The first of the fastest (by `better`) that fit; null if none fits.
const Candidate* fastest_that_fits(const CandidateList& list) {
  const Candidate* best = nullptr;
  for (const Candidate* c : list)
    if (fits(*c) && (!best || better(*c, *best))) best = c;
  return best;
}

// The successful simulation with the smallest peak memory; null if none succeeded.
const Candidate* smallest_peak(const CandidateList& list) {
  const Candidate* smallest = nullptr;
  for (const Candidate* c : list)
    if (!c->result.is_null() && (!smallest || peak_gib(*c) < peak_gib(*smallest))) smallest = c;
  return smallest;
}

// The stage-0 run at c's micro-batch and checkpointing (the last one listed); null if there is none.
const Candidate* stage0_twin(const CandidateList& list, const Candidate& c) {
  const Candidate* s0 = nullptr;
  for (const Candidate* other : list)
    if (other->stage == 0 && other->micro_batch == c.micro_batch && other->checkpointing == c.checkpointing)
      s0 = other;
  return s0;
}

// Why `best` is its stage's pick, and what the stage changes against stage 0 (`s0`, may be null).
std::string best_reason(const Candidate& best, bool is_winner, const Candidate* s0) {
  std::string reason = is_winner ? "fastest that fits (" + settings(best) + ")" : "best at " + settings(best);
  const std::string cmp = compare_to_stage0(best, s0);
  if (!cmp.empty())
    reason += "; " + cmp;
  else if (best.stage == 0)
    reason += "; no parameter traffic, " + fmt("%.1f ms", time_ms(best, "exposed_comm_s")) +
              " exposed communication";
  return reason;
}

std::string does_not_fit_reason(const Candidate& smallest) {
  const double capacity_gib =
      static_cast<double>(smallest.result["memory"]["capacity_bytes"].get<int64_t>()) / kBytesPerGiB;
  return "does not fit: needs at least " + fmt("%.2f GiB", peak_gib(smallest)) + " (" + settings(smallest) +
         ") of " + fmt("%.2f GiB", capacity_gib);
}

// No simulation of the stage succeeded: the first error recorded, if any, says why.
std::string failure_reason(const CandidateList& at_stage) {
  std::string reason = "no successful simulation";
  for (const Candidate* c : at_stage)
    if (!c->error.empty()) return reason + ": " + c->error;
  return reason;
}

// One stage's verdict among the candidates of one GPU count, whose overall pick is `winner`.
StageVerdict stage_verdict(const CandidateList& list, int stage, const Candidate* winner) {
  CandidateList at_stage;
  for (const Candidate* c : list)
    if (c->stage == stage) at_stage.push_back(c);
  StageVerdict sv;
  sv.stage = stage;
  sv.best = fastest_that_fits(at_stage);
  if (sv.best)
    sv.reason = best_reason(*sv.best, sv.best == winner, stage0_twin(list, *sv.best));
  else if (const Candidate* smallest = smallest_peak(at_stage))
    sv.reason = does_not_fit_reason(*smallest);
  else
    sv.reason = failure_reason(at_stage);
  return sv;
}

}  // namespace

std::vector<GpuCountVerdict> recommend(const std::vector<Candidate>& candidates) {
  std::map<int64_t, CandidateList> by_gpus;
  for (const auto& c : candidates) by_gpus[c.gpus].push_back(&c);
  std::vector<GpuCountVerdict> out;
  for (const auto& [gpus, list] : by_gpus) {
    GpuCountVerdict v;
    v.gpus = gpus;
    v.winner = fastest_that_fits(list);
    for (int stage = 0; stage <= 3; ++stage) v.stages.push_back(stage_verdict(list, stage, v.winner));
    out.push_back(v);
  }
  return out;
}

namespace {
nlohmann::json candidate_json(const Candidate& c) {
  return {{"zero_stage", c.stage},
          {"micro_batch", c.micro_batch},
          {"activation_checkpointing", c.checkpointing},
          {"peak_bytes", c.result["memory"]["peak_bytes"]},
          {"fits", c.result["memory"]["fits"]},
          {"step_s", c.result["time"]["step_s"]},
          {"tokens_per_s", c.result["throughput"]["tokens_per_s"]},
          {"exposed_comm_s", c.result["time"]["exposed_comm_s"]},
          {"overhead_s", c.result["time"]["overhead_s"]}};
}
}  // namespace

nlohmann::json verdicts_json(const std::vector<GpuCountVerdict>& verdicts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : verdicts) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : v.stages)
      stages.push_back({{"stage", s.stage},
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
  char line[512];
  for (const auto& v : verdicts) {
    out += "\n" + std::to_string(v.gpus) + " GPU" + (v.gpus > 1 ? "s" : "") + ": ";
    if (v.winner)
      out += "use ZeRO stage " + std::to_string(v.winner->stage) + ", " + settings(*v.winner) +
             fmt(": %.0f tokens/s", tokens_per_s(*v.winner)) +
             fmt(", %.2f GiB per GPU\n", peak_gib(*v.winner));
    else
      out += "nothing fits (try more GPUs, checkpointing, a shorter sequence or offload)\n";
    std::snprintf(line, sizeof line, "  %-6s %-7s %-5s %9s %9s %11s  %s\n", "stage", "micro-b", "ckpt",
                  "peak GiB", "step ms", "tokens/s", "why");
    out += line;
    for (const auto& s : v.stages) {
      if (s.best)
        std::snprintf(line, sizeof line, "  %s%-5d %-7lld %-5s %9.2f %9.1f %11.0f  %s\n",
                      s.best == v.winner ? "*" : " ", s.stage, static_cast<long long>(s.best->micro_batch),
                      s.best->checkpointing ? "yes" : "no", peak_gib(*s.best), time_ms(*s.best, "step_s"),
                      tokens_per_s(*s.best), s.reason.c_str());
      else
        std::snprintf(line, sizeof line, "   %-5d %-7s %-5s %9s %9s %11s  %s\n", s.stage, "-", "-", "-", "-",
                      "-", s.reason.c_str());
      out += line;
    }
  }
  return out;
}

}  // namespace zerosim
