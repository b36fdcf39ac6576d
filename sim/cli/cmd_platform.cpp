// `zerosim platform`: writes the SimGrid platform XML of a cluster, and (`--check FILE`) loads a
// platform in SimGrid to report what the engine will see: host count, routes, and flow timings.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/cli/commands.h"
#include "sim/engine/platform_probe.h"
#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/run_config.h"

namespace zerosim {
namespace {

const std::string kWhere = "zerosim platform";

void print_help() {
  std::cout
      << "usage: zerosim platform --gpu NAME --nodes N --gpus-per-node G\n"
         "                        [--intra nvswitch|nvlink-bridge|pcie]\n"
         "                        [--inter "
      << join(inter_kinds(), "|")
      << "]\n"
         "                        [--no-rail-optimized] [-o FILE]\n"
         "\n"
         "Writes a SimGrid platform (XML, DTD 4.1) with one host per GPU, named node{n}-gpu{g}, to stdout\n"
         "(or FILE). Link rates and latencies come from platforms/interconnect.yaml; the file's header\n"
         "comments name their sources.\n"
         "\n"
         "  --gpu NAME            GPU catalogue id: "
      << join(gpu_ids())
      << "\n"
         "  --nodes N             number of nodes (1-4096)\n"
         "  --gpus-per-node G     GPUs per node (1-64)\n"
         "  --intra KIND          inside a node; default nvswitch when the GPU has an SXM/NVSwitch form, "
         "else pcie\n"
         "  --inter KIND          between nodes: one NIC per GPU into a leaf/spine fat tree; default "
         "ib-hdr200\n"
         "  --no-rail-optimized   all NICs of a node on one leaf (default: NIC k of every node on rail k's "
         "leaf)\n"
         "  -o, --out FILE        write to FILE instead of stdout\n"
         "\n"
         "Diagnostics: zerosim platform --check FILE [--gpus N] [--ring] [--route SRC DST]... [--flow SRC "
         "DST BYTES]...\n"
         "  validates FILE, loads it in SimGrid (network/model:CM02, crosstraffic off) and prints JSON: "
         "host\n"
         "  counts, load time, routes (links, latency, bottleneck bandwidth), and the finish time of flows\n"
         "  started together.\n";
}

[[noreturn]] void bad(const std::string& flag, const std::string& message) {
  throw ConfigError(kWhere, flag, message);
}

std::string value_of(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) bad(args[i], "needs a value");
  return args[++i];
}

long long integer(const std::string& flag, const std::string& text, long long lo, long long hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi)
    bad(flag, "'" + text + "' is not an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

// --check: what the file declares (pugixml, sim/platform) and what SimGrid makes of it (sim/engine).
int check(const std::string& file, long long requested, bool ring,
          const std::vector<std::pair<std::string, std::string>>& routes, const std::vector<ProbeFlow>& flows) {
  // zerosim's own checks first: SimGrid aborts the process on a malformed platform.
  const PlatformInfo info = check_platform_file(file, requested);
  PlatformProbe probe{file, {}, ring, routes, flows};
  for (const auto& h : info.gpu_hosts) probe.rank_hosts.push_back(h.host);
  const nlohmann::json seen = probe_platform(probe);

  nlohmann::json out;
  out["file"] = file;
  out["hosts"] = seen["hosts"];
  out["gpu_hosts"] = info.gpu_hosts.size();
  out["intra"] = info.intra;
  out["inter"] = info.inter;
  out["gpus_per_node"] = info.gpus_per_node;
  out["load_s"] = seen["load_s"];
  out["rank_hosts"] = probe.rank_hosts;
  if (ring) out["ring"] = seen["ring"];
  out["routes"] = seen["routes"];
  if (!flows.empty()) out["flows"] = seen["flows"];
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int cmd_platform(const std::vector<std::string>& args) {
  ClusterSpec cluster;
  std::string gpu, out_file, check_file;
  bool have_nodes = false, have_gpn = false, have_intra = false;
  long long nodes = 0, requested = 0;
  bool ring = false;
  std::vector<std::pair<std::string, std::string>> routes;
  std::vector<ProbeFlow> flows;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      print_help();
      return 0;
    } else if (a == "--gpu") {
      gpu = value_of(args, i);
    } else if (a == "--nodes") {
      nodes = integer(a, value_of(args, i), 1, 4096);
      have_nodes = true;
    } else if (a == "--gpus-per-node") {
      cluster.gpus_per_node = integer(a, value_of(args, i), 1, 64);
      have_gpn = true;
    } else if (a == "--intra") {
      cluster.intra = value_of(args, i);
      const auto kinds = intra_kinds();
      if (std::find(kinds.begin(), kinds.end(), cluster.intra) == kinds.end())
        bad(a, "unknown value '" + cluster.intra + "' (allowed: " + join(kinds) + ")");
      have_intra = true;
    } else if (a == "--inter") {
      cluster.inter = value_of(args, i);
      const auto kinds = inter_kinds();
      if (std::find(kinds.begin(), kinds.end(), cluster.inter) == kinds.end())
        bad(a, "unknown value '" + cluster.inter + "' (allowed: " + join(kinds) + ")");
    } else if (a == "--no-rail-optimized") {
      cluster.rail_optimized = false;
    } else if (a == "--rail-optimized") {
      cluster.rail_optimized = true;
    } else if (a == "-o" || a == "--out") {
      out_file = value_of(args, i);
    } else if (a == "--check") {
      check_file = value_of(args, i);
    } else if (a == "--gpus") {
      requested = integer(a, value_of(args, i), 1, 1 << 20);
    } else if (a == "--ring") {
      ring = true;
    } else if (a == "--route") {
      if (i + 2 >= args.size()) bad(a, "needs two host names: --route SRC DST");
      routes.emplace_back(args[i + 1], args[i + 2]);
      i += 2;
    } else if (a == "--flow") {
      if (i + 3 >= args.size()) bad(a, "needs --flow SRC DST BYTES");
      flows.push_back({args[i + 1], args[i + 2], integer(a, args[i + 3], 1, 1LL << 50)});
      i += 3;
    } else {
      bad(a, "unknown option (see zerosim platform --help)");
    }
  }

  if (!check_file.empty()) return check(check_file, requested, ring, routes, flows);

  if (gpu.empty()) bad("--gpu", "is required (one of: " + join(gpu_ids()) + ")");
  if (!have_nodes) bad("--nodes", "is required");
  if (!have_gpn) bad("--gpus-per-node", "is required");
  const GpuSpec spec = find_gpu(gpu, kWhere, "--gpu");
  cluster.gpu = spec.id;
  cluster.gpus = nodes * cluster.gpus_per_node;
  if (!have_intra)
    cluster.intra = interconnect_catalogue().gpu_links(spec.id, kWhere, "--gpu").nvswitch_bytes_s > 0
                        ? "nvswitch"
                        : "pcie";

  std::string xml;
  try {
    xml = build_platform_xml(cluster, spec);
  } catch (const ConfigError& e) {
    // The builder names run-config keys (cluster.intra); on the command line the user typed flags.
    std::string flag = e.key();
    if (flag.rfind("cluster.", 0) == 0) flag = "--" + flag.substr(8);
    for (auto& ch : flag)
      if (ch == '_') ch = '-';
    const std::string what = e.what();
    const auto colon = what.find(": ", what.find("'" + e.key() + "'"));
    throw ConfigError(kWhere, flag, colon == std::string::npos ? what : what.substr(colon + 2));
  }
  if (out_file.empty()) {
    std::cout << xml;
  } else {
    std::ofstream f(out_file, std::ios::binary);
    if (!f) throw ConfigError(out_file, "-o", "cannot write the platform file");
    f << xml;
  }
  return 0;
}

}  // namespace zerosim
