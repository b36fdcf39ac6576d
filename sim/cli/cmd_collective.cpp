// zerosim collective (--platform FILE | --cluster k=v,...) --op OP [-b 1K -e 8G -f 2] [--concurrent K] [--algo A]
//                   [--compare NCCL_TESTS_OUTPUT [--compare-column in-place|out-of-place]]
// An nccl-tests-style sweep on the simulated platform: same columns (size, count, time, algbw,
// busbw with nccl-tests' bus-bandwidth factors) so users can put their own nccl-tests output beside it;
// --compare does that for them, at the sizes of their run, with the error per size and its MAPE.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/engine/engine.h"
#include "sim/batch/nccl_tests_log.h"
#include "sim/report/output_format.h"
#include "sim/platform/platform_setup.h"
#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {

int64_t parse_size(const std::string& text, const std::string& flag) {
  // nccl-tests syntax: 1K, 64M, 8G (powers of 1024), or plain bytes.
  if (text.empty()) throw ConfigError("zerosim collective", flag, "empty size");
  double mult = 1;
  std::string digits = text;
  const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  if (unit == 'K' || unit == 'M' || unit == 'G' || unit == 'T') {
    digits = text.substr(0, text.size() - 1);
    mult = unit == 'K' ? 1024.0 : unit == 'M' ? 1048576.0 : unit == 'G' ? 1073741824.0 : 1099511627776.0;
  }
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0' || !(v > 0) || v * mult > 1e15)
    throw ConfigError("zerosim collective", flag, "'" + text + "' is not a size (e.g. 1K, 64M, 8G; at most 1 PB)");
  return static_cast<int64_t>(std::llround(v * mult));
}

double bus_factor(CollectiveKind k, int64_t n) {
  const double nn = static_cast<double>(n);
  switch (k) {
    case CollectiveKind::all_reduce: return 2.0 * (nn - 1) / nn;
    case CollectiveKind::all_gather:
    case CollectiveKind::reduce_scatter: return (nn - 1) / nn;
    case CollectiveKind::broadcast: return 1.0;
  }
  return 1.0;
}

namespace {

RunConfig cluster_config(const std::string& platform, const std::string& cluster) {
  YAML::Node root(YAML::NodeType::Map);
  YAML::Node c(YAML::NodeType::Map);
  if (!platform.empty()) {
    c["platform"] = platform;
  } else {
    std::stringstream ss(cluster);
    for (std::string kv; std::getline(ss, kv, ',');) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos)
        throw ConfigError("--cluster", kv, "expected key=value (keys: gpu, gpus, gpus_per_node, intra, inter, rail_optimized)");
      c[kv.substr(0, eq)] = parse_yaml_text(kv.substr(eq + 1), "--cluster");
    }
  }
  root["cluster"] = c;
  root["peft"] = YAML::Load("{method: none}");
  RunConfig config = run_config_from_yaml(root, "--cluster");
  if (!platform.empty()) {  // the GPU count is the platform's
    config.cluster.gpus = 0;
  }
  return config;
}

}  // namespace

void add_collective_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("collective", "nccl-tests-style collective benchmark on a simulated platform");
  struct Options {
    std::string platform, cluster, op = "all_reduce", begin = "1K", end = "8G", format = "table";
    double factor = 2;
    int concurrent = 1;
    int64_t gpus = 0;
    std::string ring = "pipelined";
    std::string algo = "auto";
    std::string compare, compare_column = "in-place";
  };
  auto o = std::make_shared<Options>();
  auto* group = cmd->add_option_group("where");
  group->add_option("--platform", o->platform, "SimGrid platform XML");
  group->add_option("--cluster", o->cluster, "gpu=NAME,gpus=N,gpus_per_node=G,intra=...,inter=...");
  group->require_option(1);
  cmd->add_option("--gpus", o->gpus, "with --platform: use the first N GPU hosts (default: all)");
  cmd->add_option("--op", o->op, "all_reduce | all_gather | reduce_scatter | broadcast")->capture_default_str();
  cmd->add_option("-b,--minbytes", o->begin, "smallest size")->capture_default_str();
  cmd->add_option("-e,--maxbytes", o->end, "largest size")->capture_default_str();
  cmd->add_option("-f,--stepfactor", o->factor, "size multiplication factor")->capture_default_str();
  cmd->add_option("--concurrent", o->concurrent, "run K identical collectives at once on separate communicators")
      ->capture_default_str();
  cmd->add_option("--ring", o->ring, "ring model: pipelined (N flows) | stepwise (one round of N flows per ring step)")
      ->check(CLI::IsMember({"pipelined", "stepwise"}))
      ->capture_default_str();
  cmd->add_option("--algo", o->algo,
                  "NCCL algorithm, as NCCL_ALGO: auto (NCCL's tuner choice) | ring | tree (multi-node all_reduce) | "
                  "nvls (all_reduce in one NVSwitch-gen3 node); where the forced one cannot run, the ring, as in NCCL")
      ->check(CLI::IsMember({"auto", "ring", "tree", "nvls"}))
      ->capture_default_str();
  cmd->add_option("--compare", o->compare,
                  "nccl-tests output (all_reduce_perf ... > FILE): simulate its sizes and print its busbw and the "
                  "error beside zerosim's");
  cmd->add_option("--compare-column", o->compare_column, "which of the file's busbw columns to compare")
      ->check(CLI::IsMember({"in-place", "out-of-place"}))
      ->capture_default_str();
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o, cmd] {
    const OutputFormat f = parse_format(o->format);
    NcclTestsLog measured;
    if (!o->compare.empty()) {
      if (cmd->count("-b") + cmd->count("-e") + cmd->count("-f") > 0)
        throw ConfigError("zerosim collective", "--compare", "takes its message sizes from the file: drop -b/-e/-f");
      measured = parse_nccl_tests_log(read_text_file(o->compare, "nccl-tests output"), o->compare);
      o->op = collective_to_compare(measured, o->op, cmd->count("--op") > 0, o->compare);
    }
    const std::optional<CollectiveKind> op_kind = collective_kind(o->op);
    if (!op_kind) throw ConfigError("zerosim collective", "--op", "'" + o->op + "' (allowed: " + join(collective_names()) + ")");
    const CollectiveKind kind = *op_kind;
    if (o->compare.empty() && cmd->count("--compare-column") > 0) {
      throw ConfigError("zerosim collective", "--compare-column", "only means something with --compare FILE");
    }
    const int64_t lo = parse_size(o->begin, "-b"), hi = parse_size(o->end, "-e");
    if (lo > hi) throw ConfigError("zerosim collective", "-b", "minbytes must not exceed maxbytes");
    if (!(o->factor > 1)) throw ConfigError("zerosim collective", "-f", "step factor must be > 1");
    if (o->concurrent < 1 || o->concurrent > 64) throw ConfigError("zerosim collective", "--concurrent", "must be 1 to 64");

    RunConfig config = cluster_config(o->platform, o->cluster);
    if (!o->platform.empty()) config.cluster.gpus = o->gpus > 0 ? o->gpus : 0;
    if (config.cluster.gpus == 0) {  // all GPU hosts of the platform
      config.cluster.gpus = 1;
      const PreparedPlatform probe(config);
      (void)probe;
    }
    const PreparedPlatform platform(config);
    const int64_t n = static_cast<int64_t>(platform.rank_hosts().size());
    // Busbw factors depend on the rank count: a run on other GPUs than simulated compares nothing.
    if (measured.ranks > 0 && measured.ranks != n)
      throw ConfigError(o->compare, "# Rank",
                        "the nccl-tests run used " + std::to_string(measured.ranks) + " ranks (its '# Rank' lines) but " +
                            std::to_string(n) + " GPUs are simulated: simulate " + std::to_string(measured.ranks) +
                            " (--gpus with --platform, gpus= with --cluster)");

    StepGraph g;
    g.ranks = n;
    std::vector<int64_t> sizes;
    std::vector<double> measured_busbw;  // GB/s, from --compare; 0 where the file has none
    if (!measured.rows.empty()) {
      for (const auto& row : measured.rows) {
        if (std::find(sizes.begin(), sizes.end(), row.size_bytes) != sizes.end()) continue;
        sizes.push_back(row.size_bytes);
        measured_busbw.push_back(o->compare_column == "in-place" ? row.in_busbw_gbps : row.out_busbw_gbps);
      }
    } else {
      for (double s = static_cast<double>(lo); s <= static_cast<double>(hi) * (1 + 1e-9); s *= o->factor)
        sizes.push_back(static_cast<int64_t>(std::llround(s)));
    }
    std::vector<std::vector<TaskId>> tasks(static_cast<size_t>(o->concurrent));
    for (int k = 0; k < o->concurrent; ++k) {
      std::vector<TaskId> stream;
      for (int64_t size : sizes) {
        Task t;
        t.kind = TaskKind::collective;
        t.stream = Stream::comm;
        t.collective = kind;
        t.bytes = size;
        t.name = std::string(collective_name(kind)) + "." + std::to_string(size) + ".comm" + std::to_string(k);
        const TaskId v = boost::add_vertex(t, g.graph);
        if (!stream.empty()) boost::add_edge(stream.back(), v, g.graph);
        stream.push_back(v);
      }
      tasks[static_cast<size_t>(k)] = stream;
      if (k == 0) g.comm_order = stream;
      else g.extra_comm_streams.push_back(stream);
    }
    EngineOptions eo;
    eo.platform_file = platform.file();
    eo.rank_hosts = platform.rank_hosts();
    eo.gpus_per_node = platform.gpus_per_node();
    eo.nvls = platform.nvls();
    eo.record_trace = true;
    eo.comm.stepwise_ring = o->ring == "stepwise";
    eo.comm.algorithm = nccl_algorithm(o->algo);
    const ComputeModel compute(platform.gpu());
    const SimResult r = run_step(g, compute, eo);
    // Per size: the slowest of the concurrent collectives (rank 0's view of the ring).
    std::vector<double> seconds(sizes.size(), 0.0);
    std::vector<std::string> algorithm(sizes.size());
    for (const auto& e : r.trace) {
      if (e.rank != 0) continue;
      for (size_t i = 0; i < sizes.size(); ++i)
        for (const auto& stream : tasks)
          if (g.graph[stream[i]].name == e.name) {
            seconds[i] = std::max(seconds[i], e.end_s - e.start_s);
            algorithm[i] = e.algorithm;
          }
    }
    const bool comparing = !measured_busbw.empty();
    nlohmann::json rows = nlohmann::json::array();
    std::string table = "# zerosim collective: " + o->op + " on " + std::to_string(n) + " GPUs (" +
                        platform.gpu().id + "), " + std::to_string(o->concurrent) + " concurrent\n";
    table += "#        size         count   type      time   algbw   busbw  algo";
    table += comparing ? "   nccl-tests   error\n" : "\n";
    table += "#         (B)    (elements)             (us)  (GB/s)  (GB/s)";
    table += comparing ? "        busbw\n" : "\n";
    // Mean absolute percentage error over all compared sizes and over those of at least 64 MiB, where
    // latency no longer dominates (the bar `zerosim validate` scores bandwidth at).
    double abs_all = 0, abs_large = 0;
    int n_all = 0, n_large = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const double t = seconds[i];
      const double algbw = t > 0 ? static_cast<double>(sizes[i]) / t / 1e9 : 0.0;
      const double busbw = algbw * bus_factor(kind, n);
      nlohmann::json row = {{"size_bytes", sizes[i]}, {"count", sizes[i] / 2}, {"type", "bfloat16"}, {"time_s", t},
                            {"algbw_gbps", algbw}, {"busbw_gbps", busbw}, {"algorithm", algorithm[i]}};
      char line[240];
      std::snprintf(line, sizeof line, "%14lld %13lld %6s %9.2f %7.2f %7.2f  %-5s", static_cast<long long>(sizes[i]),
                    static_cast<long long>(sizes[i] / 2), "bf16", t * 1e6, algbw, busbw, algorithm[i].c_str());
      table += line;
      if (comparing) {
        const double m = measured_busbw[i];
        row["measured_busbw_gbps"] = m;
        if (m > 0) {
          const double error = busbw / m - 1;
          row["error"] = error;
          abs_all += std::abs(error);
          ++n_all;
          if (sizes[i] >= (int64_t{64} << 20)) {
            abs_large += std::abs(error);
            ++n_large;
          }
          std::snprintf(line, sizeof line, " %11.2f %+6.1f%%", m, 100 * error);
        } else {
          row["error"] = nullptr;
          std::snprintf(line, sizeof line, " %11.2f      -", m);
        }
        table += line;
      }
      table += "\n";
      rows.push_back(row);
    }
    nlohmann::json out = {{"op", o->op}, {"gpus", n}, {"gpu", platform.gpu().id}, {"concurrent", o->concurrent},
                          {"flows", r.flows}, {"results", rows}};
    if (comparing) {
      const auto mape = [](double sum, int count) -> nlohmann::json {
        return count > 0 ? nlohmann::json(sum / count) : nlohmann::json(nullptr);
      };
      out["compare"] = {{"file", o->compare},
                        {"column", o->compare_column},
                        {"sizes", n_all},
                        {"mape", mape(abs_all, n_all)},
                        {"sizes_min_64mib", n_large},
                        {"mape_min_64mib", mape(abs_large, n_large)}};
      char line[160];
      std::snprintf(line, sizeof line, " busbw): MAPE %.1f%% over %d sizes", n_all > 0 ? 100 * abs_all / n_all : 0.0,
                    n_all);
      table += "# vs " + o->compare + " (" + o->compare_column + line;
      if (n_large > 0) {
        std::snprintf(line, sizeof line, ", %.1f%% over the %d of at least 64 MiB", 100 * abs_large / n_large, n_large);
        table += line;
      }
      table += "\n";
    }
    if (f == OutputFormat::json)
      std::cout << json_text(out);
    else
      std::cout << table;
  });
}

}  // namespace zerosim
