#include "sim/batch/validation_cases.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "workloads/config_error.h"
#include "workloads/framework_versions.h"
#include "workloads/step_graph.h"
#include "workloads/units.h"
#include "workloads/yaml_read.h"

namespace zerosim {

const char* family_name(MetricFamily f) {
  switch (f) {
    case MetricFamily::memory:
      return "memory";
    case MetricFamily::time:
      return "time";
    case MetricFamily::bandwidth:
      return "bandwidth";
    case MetricFamily::ratio:
      return "ratio";
  }
  return "?";
}

const std::vector<std::string>& run_time_metrics() {
  static const std::vector<std::string> m = {"step_s", "samples_per_s", "tokens_per_s",
                                             "tokens_per_s_per_gpu", "mfu"};
  return m;
}

const std::vector<std::string>& ratio_metrics() {
  static const std::vector<std::string> m = [] {
    auto v = run_time_metrics();
    v.push_back("peak_memory_reserved");
    v.push_back("peak_memory_allocated");
    return v;
  }();
  return m;
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

double positive(const YAML::Node& n, const std::string& file, const std::string& key) {
  const double v = read_double(n, file, key);
  if (!(v > 0)) throw ConfigError(file, key, "must be > 0" + line_of(n));
  return v;
}

void read_run_measured(ValidationCase& c, const YAML::Node& m, std::vector<std::string> use, bool use_given) {
  const std::string& f = c.file;
  const std::string k = c.key + ".measured";
  check_keys(m,
             {"peak_memory_gib", "peak_memory_gb", "memory_kind", "oom", "step_s", "samples_per_s",
              "tokens_per_s", "tokens_per_s_per_gpu", "mfu"},
             f, k);
  std::vector<MeasuredFigure> memory, time;
  if (present(m["peak_memory_gib"]) && present(m["peak_memory_gb"]))
    throw ConfigError(f, k + ".peak_memory_gb", "give peak_memory_gib or peak_memory_gb, not both");
  if (present(m["peak_memory_gib"]))
    memory.push_back({"peak_memory", positive(m["peak_memory_gib"], f, k + ".peak_memory_gib") * kBytesPerGiB,
                      "GiB", MetricFamily::memory});
  if (present(m["peak_memory_gb"]))
    memory.push_back({"peak_memory", positive(m["peak_memory_gb"], f, k + ".peak_memory_gb") * 1e9, "GB",
                      MetricFamily::memory});
  if (present(m["memory_kind"])) {
    c.memory_kind = read_string(m["memory_kind"], f, k + ".memory_kind");
    if (!contains({"reserved", "allocated", "unknown"}, c.memory_kind))
      throw ConfigError(f, k + ".memory_kind",
                        "'" + c.memory_kind + "' is not allowed" + line_of(m["memory_kind"]) +
                            " (allowed: reserved, allocated, unknown)");
  }
  if (present(m["oom"])) {
    if (!read_bool(m["oom"], f, k + ".oom"))
      throw ConfigError(f, k + ".oom",
                        "only 'oom: true' is meaningful (a run that fits has a peak_memory figure)");
    memory.push_back({"oom", 1.0, "", MetricFamily::memory});
  }
  for (const auto& name : run_time_metrics()) {
    if (!present(m[name])) continue;
    const double v = positive(m[name], f, k + "." + name);
    if (name == "mfu" && v > 1) throw ConfigError(f, k + ".mfu", "is a fraction of the peak, in (0, 1]");
    const std::string unit = name == "step_s"          ? "s"
                             : name == "mfu"           ? "fraction"
                             : name == "samples_per_s" ? "samples/s"
                                                       : "tokens/s";
    time.push_back({name, v, unit, MetricFamily::time});
  }
  if (!use_given) {
    use.clear();
    if (!memory.empty()) use.push_back("memory");
    if (!time.empty()) use.push_back("time");
  }
  for (const auto& u : use) {
    if (u == "bandwidth")
      throw ConfigError(f, c.key + ".use", "'bandwidth' is for collective cases (allowed: memory, time)");
    if ((u == "memory" && memory.empty()) || (u == "time" && time.empty()))
      throw ConfigError(f, c.key + ".use", "lists '" + u + "' but measured has no " + u + " figure");
  }
  if (contains(use, "memory")) c.figures.insert(c.figures.end(), memory.begin(), memory.end());
  if (contains(use, "time")) c.figures.insert(c.figures.end(), time.begin(), time.end());
  if (c.figures.empty() && memory.empty() && time.empty())
    throw ConfigError(
        f, k,
        "has no figure (allowed: peak_memory_gib, peak_memory_gb, oom, " + join(run_time_metrics()) + ")");
}

void read_collective(ValidationCase& c, const YAML::Node& node, const YAML::Node& m) {
  const std::string& f = c.file;
  const std::string k = c.key + ".collective";
  if (!node.IsMap()) throw ConfigError(f, k, "must be a mapping {op, cluster, nccl_algo, nccl}");
  check_keys(node, {"op", "cluster", "nccl_algo", "nccl"}, f, k);
  if (present(node["nccl"])) {  // the NCCL release the source ran, checked as versions.nccl is
    YAML::Node versions(YAML::NodeType::Map);
    versions["nccl"] = node["nccl"];
    try {
      parse_versions(versions, f);
    } catch (const ConfigError& e) {
      throw ConfigError(f, k + ".nccl", e.message() + line_of(node["nccl"]));
    }
    c.nccl = read_string(node["nccl"], f, k + ".nccl");
  }
  if (present(node["nccl_algo"])) {  // the NCCL_ALGO the source forced, e.g. NVLS for every size
    c.nccl_algo = read_string(node["nccl_algo"], f, k + ".nccl_algo");
    if (!contains({"auto", "ring", "tree", "nvls", "nvlstree", "collnet", "pat"}, c.nccl_algo))
      throw ConfigError(f, k + ".nccl_algo",
                        "'" + c.nccl_algo + "' is not allowed" + line_of(node["nccl_algo"]) +
                            " (allowed: auto, ring, tree, nvls, nvlstree, collnet, pat)");
  }
  const std::string allowed_ops = " (allowed: " + join(collective_names()) + ")";
  if (!present(node["op"])) throw ConfigError(f, k + ".op", "missing" + allowed_ops);
  c.op = read_string(node["op"], f, k + ".op");
  if (!collective_kind(c.op))
    throw ConfigError(f, k + ".op", "'" + c.op + "' is not allowed" + line_of(node["op"]) + allowed_ops);
  const YAML::Node cl = node["cluster"];
  if (!present(cl) || !cl.IsMap())
    throw ConfigError(f, k + ".cluster",
                      "missing or not a mapping (the cluster keys of docs/architecture.md)");
  for (auto it = cl.begin(); it != cl.end(); ++it) {
    const std::string key = read_string(it->first, f, k + ".cluster");
    if (!it->second.IsScalar()) throw ConfigError(f, k + ".cluster." + key, "must be a single value");
    c.cluster.emplace_back(key, it->second.Scalar());
  }
  const std::string mk = c.key + ".measured";
  check_keys(m, {"busbw_gbps"}, f, mk);
  const YAML::Node bw = m["busbw_gbps"];
  if (!present(bw) || !bw.IsMap() || bw.size() == 0)
    throw ConfigError(f, mk + ".busbw_gbps", "missing or empty (message size in bytes -> busbw in GB/s)");
  for (auto it = bw.begin(); it != bw.end(); ++it) {
    const std::string size_text = it->first.Scalar();
    const int64_t size = read_int_in(it->first, f, mk + ".busbw_gbps", 1, int64_t{1} << 50);
    c.busbw_gbps[size] = positive(it->second, f, mk + ".busbw_gbps." + size_text);
  }
}

void read_ratio(ValidationCase& c, const YAML::Node& node, const YAML::Node& m) {
  const std::string& f = c.file;
  const std::string k = c.key + ".ratio";
  if (!node.IsMap()) throw ConfigError(f, k, "must be a mapping {numerator, denominator, metric}");
  check_keys(node, {"numerator", "denominator", "metric"}, f, k);
  for (const char* key : {"numerator", "denominator", "metric"})
    if (!present(node[key])) throw ConfigError(f, k + "." + key, "missing");
  c.numerator = read_string(node["numerator"], f, k + ".numerator");
  c.denominator = read_string(node["denominator"], f, k + ".denominator");
  c.ratio_metric = read_string(node["metric"], f, k + ".metric");
  if (!contains(ratio_metrics(), c.ratio_metric))
    throw ConfigError(f, k + ".metric",
                      "'" + c.ratio_metric + "' is not allowed" + line_of(node["metric"]) +
                          " (allowed: " + join(ratio_metrics()) + ")");
  const std::string mk = c.key + ".measured";
  check_keys(m, {"value"}, f, mk);
  if (!present(m["value"])) throw ConfigError(f, mk + ".value", "missing (the measured ratio)");
  c.ratio_value = positive(m["value"], f, mk + ".value");
}

}  // namespace

CaseFile case_file_from_yaml(const YAML::Node& root, const std::string& path) {
  if (!root.IsMap()) throw ConfigError(path, "", "a case file is a mapping {source, hardware, notes, cases}");
  check_keys(root, {"source", "hardware", "notes", "cases"}, path, "");
  CaseFile cf;
  cf.path = path;
  if (!present(root["source"]))
    throw ConfigError(path, "source", "missing (where the measurements were published)");
  cf.source = read_string(root["source"], path, "source");
  if (present(root["hardware"])) cf.hardware = read_string(root["hardware"], path, "hardware");
  const YAML::Node cases = root["cases"];
  if (!present(cases) || !cases.IsSequence() || cases.size() == 0)
    throw ConfigError(path, "cases", "missing or empty (a list of cases)");
  for (size_t i = 0; i < cases.size(); ++i) {
    const YAML::Node node = cases[i];
    ValidationCase c;
    c.file = path;
    c.source = cf.source;
    c.key = "cases[" + std::to_string(i) + "]";
    if (!node.IsMap())
      throw ConfigError(path, c.key, "a case is a mapping {id, run|collective|ratio, measured, use, notes}");
    check_keys(node, {"id", "run", "collective", "ratio", "measured", "use", "notes"}, path, c.key);
    if (!present(node["id"])) throw ConfigError(path, c.key + ".id", "missing");
    c.id = read_string(node["id"], path, c.key + ".id");
    c.key += " (" + c.id + ")";
    if (present(node["notes"])) c.notes = read_string(node["notes"], path, c.key + ".notes");
    const int kinds = (present(node["run"]) ? 1 : 0) + (present(node["collective"]) ? 1 : 0) +
                      (present(node["ratio"]) ? 1 : 0);
    if (kinds != 1) throw ConfigError(path, c.key, "needs exactly one of run, collective, ratio");
    const YAML::Node m = node["measured"];
    if (!present(m) || !m.IsMap()) throw ConfigError(path, c.key + ".measured", "missing or not a mapping");
    std::vector<std::string> use;
    const bool use_given = present(node["use"]);
    if (use_given) {
      use = read_string_list(node["use"], path, c.key + ".use");
      for (const auto& u : use)
        if (!contains({"memory", "time", "bandwidth"}, u))
          throw ConfigError(path, c.key + ".use",
                            "'" + u + "' is not allowed (allowed: memory, time, bandwidth)");
    }
    if (present(node["run"])) {
      c.kind = CaseKind::run;
      if (!node["run"].IsMap())
        throw ConfigError(path, c.key + ".run",
                          "must be a run config mapping (the keys of docs/architecture.md)");
      c.run = YAML::Clone(node["run"]);
      read_run_measured(c, m, use, use_given);
    } else if (present(node["collective"])) {
      c.kind = CaseKind::collective;
      if (use_given && use != std::vector<std::string>{"bandwidth"})
        throw ConfigError(path, c.key + ".use",
                          "a collective case measures bandwidth only (use: [bandwidth])");
      read_collective(c, node["collective"], m);
    } else {
      c.kind = CaseKind::ratio;
      if (use_given) throw ConfigError(path, c.key + ".use", "a ratio case has one figure; leave use out");
      read_ratio(c, node["ratio"], m);
    }
    cf.cases.push_back(std::move(c));
  }
  return cf;
}

CaseFile load_case_file(const std::string& path) {
  return case_file_from_yaml(parse_yaml_file(path, "validation case file"), path);
}

std::vector<CaseFile> load_case_dir(const std::string& dir, const std::string& skip) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ConfigError(dir, "", "not a directory of validation case files");
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
    if (!skip.empty() && e.path().filename() == skip) continue;
    paths.push_back(e.path().string());
  }
  if (paths.empty()) throw ConfigError(dir, "", "has no *.yaml validation case files");
  std::sort(paths.begin(), paths.end());
  std::vector<CaseFile> files;
  files.reserve(paths.size());
  for (const auto& p : paths) files.push_back(load_case_file(p));

  std::map<std::string, const ValidationCase*> by_id;
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      const auto [it, inserted] = by_id.emplace(c.id, &c);
      if (!inserted)
        throw ConfigError(c.file, c.key + ".id",
                          "duplicate id '" + c.id + "' (also in " + it->second->file + ")");
    }
  for (const auto& f : files)
    for (const auto& c : f.cases) {
      if (c.kind != CaseKind::ratio) continue;
      for (const auto& [side, id] :
           {std::pair{"numerator", c.numerator}, std::pair{"denominator", c.denominator}}) {
        const auto it = by_id.find(id);
        if (it == by_id.end() || it->second->kind != CaseKind::run)
          throw ConfigError(c.file, c.key + ".ratio." + side,
                            "'" + id + "' is not the id of a run case in " + dir);
      }
    }
  return files;
}

const KnownMiss* Expectations::find(const std::string& case_id, const std::string& metric) const {
  for (const auto& m : known_misses)
    if (m.case_id == case_id && m.metric == metric) return &m;
  return nullptr;
}

Expectations load_expectations(const std::string& path) {
  const YAML::Node root = parse_yaml_file(path, "known-misses file");
  if (!root.IsMap()) throw ConfigError(path, "", "a mapping {tolerance, bandwidth_min_bytes, known_misses}");
  check_keys(root, {"tolerance", "bandwidth_min_bytes", "known_misses"}, path, "");
  Expectations e;
  e.path = path;
  const YAML::Node tol = root["tolerance"];
  if (!present(tol) || !tol.IsMap())
    throw ConfigError(path, "tolerance", "missing (memory, time, bandwidth, ratio: fractions)");
  check_keys(tol, {"memory", "time", "bandwidth", "ratio"}, path, "tolerance");
  for (MetricFamily fam :
       {MetricFamily::memory, MetricFamily::time, MetricFamily::bandwidth, MetricFamily::ratio}) {
    const std::string key = std::string("tolerance.") + family_name(fam);
    if (!present(tol[family_name(fam)])) throw ConfigError(path, key, "missing");
    const double v = read_double(tol[family_name(fam)], path, key);
    if (!(v > 0 && v < 10))
      throw ConfigError(path, key, "must be a fraction of the measured value in (0, 10)");
    e.tolerance[fam] = v;
  }
  if (present(root["bandwidth_min_bytes"]))
    e.bandwidth_min_bytes =
        read_int_in(root["bandwidth_min_bytes"], path, "bandwidth_min_bytes", 0, int64_t{1} << 50);
  const YAML::Node misses = root["known_misses"];
  if (present(misses)) {
    if (!misses.IsSequence())
      throw ConfigError(path, "known_misses", "must be a list of {case, metric, reason}");
    for (size_t i = 0; i < misses.size(); ++i) {
      const std::string k = "known_misses[" + std::to_string(i) + "]";
      const YAML::Node m = misses[i];
      if (!m.IsMap()) throw ConfigError(path, k, "must be a mapping {case, metric, reason}");
      check_keys(m, {"case", "metric", "reason"}, path, k);
      KnownMiss km;
      for (const char* key : {"case", "metric", "reason"})
        if (!present(m[key]) || read_string(m[key], path, k + "." + key).empty())
          throw ConfigError(path, k + "." + key,
                            "missing (every known miss names the case, the metric and why)");
      km.case_id = read_string(m["case"], path, k + ".case");
      km.metric = read_string(m["metric"], path, k + ".metric");
      km.reason = read_string(m["reason"], path, k + ".reason");
      if (e.find(km.case_id, km.metric))
        throw ConfigError(path, k, "duplicate entry for " + km.case_id + " " + km.metric);
      e.known_misses.push_back(km);
    }
  }
  return e;
}

}  // namespace zerosim
