#include "sim/batch/validation_run.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>

#include "sim/batch/child_process.h"
#include "sim/batch/point_runner.h"
#include "sim/batch/worker_error.h"
#include "workloads/config_error.h"
#include "workloads/run_config.h"
#include "workloads/units.h"

namespace zerosim {

const char* status_name(RowStatus s) {
  switch (s) {
    case RowStatus::unscored:
      return "-";
    case RowStatus::ok:
      return "ok";
    case RowStatus::miss:
      return "MISS";
    case RowStatus::known_miss:
      return "known miss";
    case RowStatus::known_miss_passes:
      return "KNOWN MISS PASSES";
  }
  return "?";
}

std::string size_label(int64_t bytes) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  int64_t v = bytes;
  while (u < 4 && v >= 1024 && v % 1024 == 0) v /= 1024, ++u;
  return std::to_string(v) + units[u];
}

double run_metric(const nlohmann::json& sim, const std::string& metric, const std::string& memory_kind) {
  const auto& mem = sim.at("memory");
  if (metric == "peak_memory")
    return mem.at(memory_kind == "allocated" ? "peak_allocated_bytes" : "peak_reserved_bytes").get<double>();
  if (metric == "peak_memory_reserved") return mem.at("peak_reserved_bytes").get<double>();
  if (metric == "peak_memory_allocated") return mem.at("peak_allocated_bytes").get<double>();
  if (metric == "step_s") return sim.at("time").at("step_s").get<double>();
  if (metric == "samples_per_s") {
    // One sample = one sequence of one micro-batch (ms-swift and HF Trainer count them so).
    const auto& c = sim.at("config");
    const double samples = c.at("train").at("micro_batch").get<double>() *
                           c.at("train").at("grad_accum").get<double>() *
                           c.at("cluster").at("gpus").get<double>();
    return samples / sim.at("time").at("step_s").get<double>();
  }
  if (metric == "tokens_per_s" || metric == "tokens_per_s_per_gpu" || metric == "mfu")
    return sim.at("throughput").at(metric).get<double>();
  throw std::logic_error("unknown run metric " + metric);
}

namespace {

std::string parent_dir(const std::string& file) {
  namespace fs = std::filesystem;
  return fs::absolute(fs::path(file)).parent_path().string();
}

std::string trimmed_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Why a child failed: what it printed on stderr, or its exit code when it printed nothing.
std::string child_failure(int exit_code, const std::string& err) {
  const std::string m = trimmed_end(err);
  return m.empty() ? "exit code " + std::to_string(exit_code) : m;
}

// The error a child rejected its input with (exit code 2), blamed on the case's `key`: the child's
// own error rebuilt from the fields it sent (sim/batch/worker_error.h), or, when it failed before
// its command boundary could send them, what it printed.
ConfigError child_config_error(const ValidationCase& c, const std::string& key, int exit_code,
                               const std::string& err) {
  const std::optional<ConfigError> sent = read_worker_error(err);
  return ConfigError(c.file, key, sent ? std::string(sent->what()) : child_failure(exit_code, err));
}

nlohmann::json run_json_child(const std::vector<std::string>& args, const std::string& cwd,
                              const ValidationCase& c, const std::string& key) {
  const ChildResult r = run_child(self_executable(), args, cwd, {worker_errors_setting()});
  if (r.exit_code == 2) throw child_config_error(c, key, r.exit_code, r.err);
  if (r.exit_code != 0)
    throw std::runtime_error("case " + c.id + ": zerosim " + args.front() + " failed (exit " +
                             std::to_string(r.exit_code) + "): " + child_failure(r.exit_code, r.err));
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("case " + c.id + ": zerosim " + args.front() + " printed no JSON: " + e.what());
  }
}

// The case's run config, checked in-process (a bad one names the case file and the key), with the
// paths it holds made absolute: they are relative to the case file, the worker runs elsewhere.
std::string prepared_run_yaml(const ValidationCase& c) {
  try {
    (void)run_config_from_yaml(YAML::Clone(c.run), c.file);
  } catch (const ConfigError& e) {
    throw ConfigError(c.file, c.key + ".run", e.what());
  }
  namespace fs = std::filesystem;
  const fs::path dir = parent_dir(c.file);
  YAML::Node run = YAML::Clone(c.run);
  auto absolutize = [&](YAML::Node node, const std::string& key) {
    if (!node.IsMap() || !node[key] || !node[key].IsScalar()) return;
    const fs::path p(node[key].Scalar());
    std::error_code ec;
    if (p.is_relative() && fs::exists(dir / p, ec)) node[key] = (dir / p).lexically_normal().string();
  };
  absolutize(run, "model");
  absolutize(run, "deepspeed");
  absolutize(run, "platform");
  absolutize(run, "calibration");
  if (run["peft"]) absolutize(run["peft"], "adapter");
  if (run["zero"]) absolutize(run["zero"], "deepspeed");
  if (run["cluster"]) absolutize(run["cluster"], "platform");
  YAML::Emitter out;
  out << run;
  return std::string(out.c_str()) + "\n";
}

// busbw (GB/s) by size from one `zerosim collective` sweep, plus single-size runs for sizes the
// geometric sweep from the smallest size did not hit.
std::map<int64_t, double> collective_case(const ValidationCase& c) {
  std::string cluster;
  for (const auto& [k, v] : c.cluster) cluster += (cluster.empty() ? "" : ",") + k + "=" + v;
  const std::string cwd = parent_dir(c.file);
  auto sweep = [&](int64_t lo, int64_t hi) {
    std::vector<std::string> args = {"collective",
                                     "--cluster",
                                     cluster,
                                     "--op",
                                     c.op,
                                     "--algo",
                                     c.nccl_algo,
                                     "-b",
                                     std::to_string(lo),
                                     "-e",
                                     std::to_string(hi),
                                     "-f",
                                     "2",
                                     "--format",
                                     "json"};
    if (!c.nccl.empty()) args.insert(args.end(), {"--nccl", c.nccl});
    const auto j = run_json_child(args, cwd, c, c.key + ".collective");
    std::map<int64_t, double> out;
    for (const auto& row : j.at("results"))
      out[row.at("size_bytes").get<int64_t>()] = row.at("busbw_gbps").get<double>();
    return out;
  };
  std::map<int64_t, double> bw = sweep(c.busbw_gbps.begin()->first, c.busbw_gbps.rbegin()->first);
  for (const auto& [size, measured] : c.busbw_gbps)
    if (!bw.count(size)) bw.merge(sweep(size, size));
  return bw;
}

ComparisonRow row_for(const ValidationCase& c, const std::string& metric, MetricFamily family,
                      std::string unit, double predicted, double measured) {
  ComparisonRow r;
  r.case_id = c.id;
  r.file = c.file;
  r.source = c.source;
  r.metric = metric;
  r.family = family;
  r.unit = std::move(unit);
  r.predicted = predicted;
  r.measured = measured;
  r.error_pct = 100.0 * (predicted - measured) / measured;
  return r;
}

void add_run_rows(ValidationReport& rep, const ValidationCase& c, const nlohmann::json& sim) {
  for (const auto& fig : c.figures) {
    if (fig.metric == "oom") {
      ComparisonRow r =
          row_for(c, "oom", MetricFamily::memory, "", sim["memory"]["fits"].get<bool>() ? 0.0 : 1.0, 1.0);
      r.error_pct.reset();
      char d[120];
      std::snprintf(d, sizeof d, "predicted peak %.2f GiB of %.2f GiB",
                    sim["memory"]["peak_bytes"].get<double>() / kBytesPerGiB,
                    sim["memory"]["capacity_bytes"].get<double>() / kBytesPerGiB);
      r.detail = d;
      rep.rows.push_back(r);
    } else if (fig.metric == "peak_memory") {
      const double scale = fig.unit == "GiB" ? kBytesPerGiB : 1e9;
      ComparisonRow r = row_for(c, "peak_memory", MetricFamily::memory, fig.unit,
                                run_metric(sim, "peak_memory", c.memory_kind) / scale, fig.value / scale);
      r.detail = c.memory_kind == "allocated"  ? "allocated"
                 : c.memory_kind == "reserved" ? "reserved"
                                               : "reserved (kind unknown)";
      rep.rows.push_back(r);
    } else {
      rep.rows.push_back(
          row_for(c, fig.metric, MetricFamily::time, fig.unit, run_metric(sim, fig.metric, ""), fig.value));
    }
  }
}

void add_collective_rows(ValidationReport& rep, const ValidationCase& c,
                         const std::map<int64_t, double>& bw) {
  for (const auto& [size, measured] : c.busbw_gbps) {
    ComparisonRow r =
        row_for(c, "busbw@" + size_label(size), MetricFamily::bandwidth, "GB/s", bw.at(size), measured);
    r.message_bytes = size;
    r.detail = c.op;
    rep.rows.push_back(r);
  }
}

}  // namespace

ValidationReport run_validation(const std::vector<CaseFile>& files, const Expectations* expectations,
                                const std::function<void(const std::string&)>& progress) {
  ValidationReport rep;
  std::map<std::string, nlohmann::json> sims;
  // Run cases: all at once on the shared worker pool (one process per point).
  std::vector<const ValidationCase*> run_cases;
  std::vector<PointJob> jobs;
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      if (c.kind != CaseKind::run) continue;
      try {
        jobs.push_back({run_cases.size(), prepared_run_yaml(c)});
        run_cases.push_back(&c);
      } catch (const ConfigError& e) {
        rep.errors.push_back({c.id, e});
      }
    }
  std::vector<PointOutcome> outcomes(run_cases.size());
  PointRunnerOptions options;
  options.environment = {worker_errors_setting()};
  run_points(jobs, options, [&](const PointOutcome& o) {
    if (progress) progress(run_cases[o.id]->id);
    outcomes[o.id] = o;
  });
  for (size_t i = 0; i < run_cases.size(); ++i) {
    const ValidationCase& c = *run_cases[i];
    const PointOutcome& o = outcomes[i];
    if (o.exit_code == 2) {
      rep.errors.push_back({c.id, child_config_error(c, c.key + ".run", o.exit_code, o.err)});
      continue;
    }
    if (o.exit_code != 0)
      throw std::runtime_error("case " + c.id + ": zerosim simulate failed (exit " +
                               std::to_string(o.exit_code) + "): " + child_failure(o.exit_code, o.err));
    nlohmann::json sim;
    try {
      sim = nlohmann::json::parse(o.out);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("case " + c.id + ": zerosim simulate printed no JSON: " + e.what());
    }
    sims[c.id] = sim;
    rep.predictions[c.id] = {{"memory", sim.at("memory")},
                             {"time", sim.at("time")},
                             {"throughput", sim.at("throughput")},
                             {"params", sim.at("params")}};
    add_run_rows(rep, c, sim);
  }
  // Collective cases: one `zerosim collective` sweep each.
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      if (c.kind != CaseKind::collective) continue;
      if (progress) progress(c.id);
      try {
        add_collective_rows(rep, c, collective_case(c));
      } catch (const ConfigError& e) {
        rep.errors.push_back({c.id, e});
      }
    }
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      if (c.kind != CaseKind::ratio) continue;
      for (const auto& side : {c.numerator, c.denominator})
        if (!sims.count(side))
          rep.errors.push_back(
              {c.id, ConfigError(c.file, c.key + ".ratio", "case '" + side + "' could not be simulated")});
      if (!sims.count(c.numerator) || !sims.count(c.denominator)) continue;
      const double num = run_metric(sims.at(c.numerator), c.ratio_metric, "");
      const double den = run_metric(sims.at(c.denominator), c.ratio_metric, "");
      ComparisonRow r =
          row_for(c, "ratio:" + c.ratio_metric, MetricFamily::ratio, "ratio", num / den, c.ratio_value);
      r.detail = c.numerator + " / " + c.denominator;
      rep.rows.push_back(r);
    }
  score(rep, expectations);
  return rep;
}

int optimism(const ComparisonRow& r) {
  if (r.family == MetricFamily::ratio) return 0;
  double sign = 0;
  if (r.metric == "oom")  // 1 = does not fit: predicting a fit for a run that did not is optimistic
    sign = r.measured - r.predicted;
  else if (r.error_pct)
    // Less memory, a shorter step or more bandwidth is optimistic; every other time metric (samples/s,
    // tokens/s, MFU) is a rate, where more is.
    sign = (r.family == MetricFamily::memory || r.metric == "step_s") ? -*r.error_pct : *r.error_pct;
  return sign > 0 ? 1 : sign < 0 ? -1 : 0;
}

void score(ValidationReport& rep, const Expectations* e) {
  rep.families.clear();
  rep.stale_known_misses.clear();
  std::map<MetricFamily, std::pair<double, int>> scored_err, all_err;
  for (auto& r : rep.rows) {
    FamilySummary& s = rep.families[r.family];
    ++s.rows;
    if (r.error_pct) {
      all_err[r.family].first += std::fabs(*r.error_pct);
      ++all_err[r.family].second;
    }
    const bool below_bar =
        e && r.family == MetricFamily::bandwidth && r.message_bytes < e->bandwidth_min_bytes;
    if (!e || below_bar) {
      r.status = RowStatus::unscored;
      continue;
    }
    ++s.scored;
    const int side = optimism(r);
    s.optimistic += side > 0;
    s.pessimistic += side < 0;
    if (r.error_pct) {
      scored_err[r.family].first += std::fabs(*r.error_pct);
      ++scored_err[r.family].second;
    }
    const double tol = e->tolerance.at(r.family);
    const bool within =
        r.metric == "oom" ? r.predicted == r.measured : std::fabs(*r.error_pct) <= 100.0 * tol;
    const KnownMiss* km = e->find(r.case_id, r.metric);
    if (km) r.reason = km->reason;
    r.status = within ? (km ? RowStatus::known_miss_passes : RowStatus::ok)
                      : (km ? RowStatus::known_miss : RowStatus::miss);
    if (r.status == RowStatus::ok) ++s.within;
    if (r.status == RowStatus::known_miss) ++s.known_misses;
    if (r.status == RowStatus::miss) ++s.misses;
  }
  for (auto& [fam, s] : rep.families) {
    if (e) s.tolerance = e->tolerance.at(fam);
    const auto& all = all_err[fam];
    s.mape_all_pct = all.second ? all.first / all.second : 0;
    const auto& sc = scored_err[fam];
    s.mape_pct = sc.second ? sc.first / sc.second : s.mape_all_pct;
  }
  if (e)
    for (const auto& km : e->known_misses) {
      bool found = false;
      for (const auto& r : rep.rows) found = found || (r.case_id == km.case_id && r.metric == km.metric);
      if (!found) rep.stale_known_misses.push_back(km);
    }
}

}  // namespace zerosim
