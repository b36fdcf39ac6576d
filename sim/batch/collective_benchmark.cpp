#include "sim/batch/collective_benchmark.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include "sim/batch/nccl_tests_conventions.h"
#include "sim/batch/nccl_tests_log.h"
#include "sim/batch/platform_engine_options.h"
#include "sim/engine/engine.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_setup.h"
#include "sim/report/output_format.h"
#include "workloads/config_error.h"
#include "workloads/framework_versions.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

const char* const kCommand = "zerosim collective";

// The options once checked: the collective, and the nccl-tests run to compare with (if any).
struct CheckedOptions {
  CollectiveKind kind = CollectiveKind::all_reduce;
  NcclTestsLog measured;
  int64_t min_bytes = 0, max_bytes = 0;
};

// Checks in the order users fix them; with --compare, the collective is the file's (o.op is set to it).
CheckedOptions check_options(CollectiveOptions& o) {
  CheckedOptions c;
  if (!o.compare.empty()) {
    if (o.sizes_given)
      throw ConfigError(kCommand, "--compare", "takes its message sizes from the file: drop -b/-e/-f");
    c.measured = parse_nccl_tests_log(read_text_file(o.compare, "nccl-tests output"), o.compare);
    o.op = collective_to_compare(c.measured, o.op, o.op_given, o.compare);
  }
  const std::optional<CollectiveKind> kind = collective_kind(o.op);
  if (!kind)
    throw ConfigError(kCommand, "--op", "'" + o.op + "' (allowed: " + join(collective_names()) + ")");
  c.kind = *kind;
  if (o.compare.empty() && o.compare_column_given)
    throw ConfigError(kCommand, "--compare-column", "only means something with --compare FILE");
  c.min_bytes = parse_size(o.begin, "-b");
  c.max_bytes = parse_size(o.end, "-e");
  if (c.min_bytes > c.max_bytes) throw ConfigError(kCommand, "-b", "minbytes must not exceed maxbytes");
  if (!(o.factor > 1)) throw ConfigError(kCommand, "-f", "step factor must be > 1");
  if (o.concurrent < 1 || o.concurrent > 64) throw ConfigError(kCommand, "--concurrent", "must be 1 to 64");
  return c;
}

// The run config of the platform file (its first --gpus GPU hosts, else all) or of the cluster keys.
RunConfig cluster_config(const CollectiveOptions& o) {
  YAML::Node root(YAML::NodeType::Map);
  YAML::Node c(YAML::NodeType::Map);
  if (!o.platform.empty()) {
    c["platform"] = o.platform;
  } else {
    std::stringstream ss(o.cluster);
    for (std::string kv; std::getline(ss, kv, ',');) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos)
        throw ConfigError("--cluster", kv,
                          "expected key=value (keys: gpu, gpus, gpus_per_node, intra, inter, rail_optimized, "
                          "nics_per_node, nic_gbps, oversubscription, collnet)");
      c[kv.substr(0, eq)] = parse_yaml_text(kv.substr(eq + 1), "--cluster");
    }
  }
  root["cluster"] = c;
  root["peft"] = YAML::Load("{method: none}");
  if (!o.nccl.empty()) {
    YAML::Node versions(YAML::NodeType::Map);
    versions["nccl"] = o.nccl;
    root["versions"] = versions;
    try {
      parse_versions(versions, kCommand);
    } catch (const ConfigError& e) {
      throw ConfigError(kCommand, "--nccl", e.message());
    }
  }
  RunConfig config = run_config_from_yaml(root, "--cluster");
  if (!o.platform.empty()) {
    config.cluster.gpus = o.gpus;
    config.cluster.gpus_set = o.gpus > 0;
    apply_platform_file(config);
  }
  return config;
}

// Busbw factors depend on the rank count: a run on other GPUs than simulated compares nothing.
void check_ranks(const NcclTestsLog& measured, int64_t gpus, const std::string& file) {
  if (measured.ranks == 0 || measured.ranks == gpus) return;
  const std::string ranks = std::to_string(measured.ranks);
  throw ConfigError(file, "# Rank",
                    "the nccl-tests run used " + ranks + " ranks (its '# Rank' lines) but " +
                        std::to_string(gpus) + " GPUs are simulated: simulate " + ranks +
                        " (--gpus with --platform, gpus= with --cluster)");
}

// The message sizes: the nccl-tests file's (each once, with its busbw in the chosen column), else
// min_bytes, min_bytes x factor, ... up to max_bytes.
std::vector<CollectiveRow> sized_rows(const CheckedOptions& c, const CollectiveOptions& o) {
  std::vector<CollectiveRow> rows;
  for (const NcclTestsRow& m : c.measured.rows) {
    const auto same = [&](const CollectiveRow& r) { return r.size_bytes == m.size_bytes; };
    if (std::any_of(rows.begin(), rows.end(), same)) continue;
    CollectiveRow& r = rows.emplace_back();
    r.size_bytes = m.size_bytes;
    r.measured_busbw_gbps = o.compare_column == "in-place" ? m.in_busbw_gbps : m.out_busbw_gbps;
  }
  if (!c.measured.rows.empty()) return rows;
  const double lo = static_cast<double>(c.min_bytes), hi = static_cast<double>(c.max_bytes);
  for (double s = lo; s <= hi * (1 + 1e-9); s *= o.factor)
    rows.emplace_back().size_bytes = static_cast<int64_t>(std::llround(s));
  return rows;
}

// Every size back to back on each of `concurrent` communicators (streams), all at once; the task
// names say which size each collective is.
StepGraph collective_graph(CollectiveKind kind, const std::vector<CollectiveRow>& rows, int64_t ranks,
                           int concurrent) {
  StepGraph g;
  g.ranks = ranks;
  for (int k = 0; k < concurrent; ++k) {
    std::vector<TaskId> stream;
    for (const CollectiveRow& r : rows) {
      Task t;
      t.kind = TaskKind::collective;
      t.stream = Stream::comm;
      t.collective = kind;
      t.bytes = r.size_bytes;
      t.name = std::string(collective_name(kind)) + "." + std::to_string(r.size_bytes) + ".comm" +
               std::to_string(k);
      const TaskId v = boost::add_vertex(t, g.graph);
      if (!stream.empty()) boost::add_edge(stream.back(), v, g.graph);
      stream.push_back(v);
    }
    if (k == 0)
      g.comm_order = stream;
    else
      g.extra_comm_streams.push_back(stream);
  }
  return g;
}

SimResult run_engine(const StepGraph& g, const PreparedPlatform& platform, const CollectiveOptions& o,
                     const RunConfig& config) {
  EngineOptions eo = platform_engine_options(platform, config.versions.nccl);
  eo.record_trace = true;
  eo.comm.stepwise_ring = o.ring == "stepwise";
  eo.comm.algorithm = nccl_algorithm(o.algo);
  eo.nccl_algo_file = kCommand;
  eo.nccl_algo_key = "--algo";
  eo.comm.channels = nccl_collective_ctas(resolve_intra(config.cluster.intra, config.gpu.id));
  return run_step(g, ComputeModel(platform.gpu()), eo);
}

// Per size: the slowest of the concurrent collectives (rank 0's view of the ring), its algorithm, and
// nccl-tests' algbw and busbw from that time.
void fill_times(std::vector<CollectiveRow>& rows, const SimResult& result, const StepGraph& g,
                CollectiveKind kind) {
  std::map<std::string, std::vector<size_t>> rows_by_name;  // equal sizes share a name
  for (const auto& stream : g.extra_comm_streams)
    for (size_t i = 0; i < stream.size(); ++i) rows_by_name[g.graph[stream[i]].name].push_back(i);
  for (size_t i = 0; i < g.comm_order.size(); ++i) rows_by_name[g.graph[g.comm_order[i]].name].push_back(i);
  for (const TraceEvent& e : result.trace) {
    if (e.rank != 0) continue;
    const auto it = rows_by_name.find(e.name);
    if (it == rows_by_name.end()) continue;
    for (size_t i : it->second) {
      rows[i].time_s = std::max(rows[i].time_s, e.end_s - e.start_s);
      rows[i].algorithm = e.algorithm;
    }
  }
  for (CollectiveRow& r : rows) {
    r.algbw_gbps = r.time_s > 0 ? static_cast<double>(r.size_bytes) / r.time_s / 1e9 : 0.0;
    r.busbw_gbps = r.algbw_gbps * bus_factor(kind, g.ranks);
  }
}

// The error of each size the file measured, and their means over all sizes and those of >= 64 MiB.
CollectiveComparison compare_rows(std::vector<CollectiveRow>& rows, const CollectiveOptions& o) {
  CollectiveComparison c{o.compare, o.compare_column, {}, {}};
  for (CollectiveRow& r : rows) {
    if (!(r.measured_busbw_gbps > 0)) continue;
    r.error = r.busbw_gbps / r.measured_busbw_gbps - 1;
    c.all.abs_sum += std::abs(*r.error);
    ++c.all.sizes;
    if (r.size_bytes >= (int64_t{64} << 20)) {
      c.min_64mib.abs_sum += std::abs(*r.error);
      ++c.min_64mib.sizes;
    }
  }
  return c;
}

}  // namespace

CollectiveBenchmark simulate_collectives(CollectiveOptions o) {
  const CheckedOptions checked = check_options(o);
  const RunConfig config = cluster_config(o);
  const PreparedPlatform platform(config);
  const int64_t gpus = static_cast<int64_t>(platform.rank_hosts().size());
  check_ranks(checked.measured, gpus, o.compare);

  CollectiveBenchmark b{o.op, gpus, platform.gpu().id, o.concurrent, 0, sized_rows(checked, o), {}};
  const StepGraph g = collective_graph(checked.kind, b.rows, gpus, o.concurrent);
  const SimResult result = run_engine(g, platform, o, config);
  b.flows = result.flows;
  fill_times(b.rows, result, g, checked.kind);
  if (!checked.measured.rows.empty()) b.compare = compare_rows(b.rows, o);
  return b;
}

void run_collective(const CollectiveOptions& options) {
  const OutputFormat format = parse_format(options.format);
  const CollectiveBenchmark b = simulate_collectives(options);
  if (format == OutputFormat::json)
    std::cout << json_text(collective_json(b));
  else
    std::cout << collective_table(b);
}

}  // namespace zerosim
