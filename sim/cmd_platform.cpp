// `zerosim platform`: writes the SimGrid platform XML of a cluster, and (`--check FILE`) loads a
// platform in SimGrid to report what the engine will see: host count, routes, and flow timings.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

#include "sim/commands.h"
#include "sim/interconnect_catalogue.h"
#include "sim/platform_builder.h"
#include "sim/platform_check.h"
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

// ---- --check: the SimGrid side ----

struct Flow {
  std::string src, dst;
  long long bytes = 0;
};

simgrid::s4u::Host* host_named(const simgrid::s4u::Engine& e, const std::string& name,
                               const std::string& file) {
  simgrid::s4u::Host* h = e.host_by_name_or_null(name);
  if (!h) throw ConfigError(file, "host", "no host named '" + name + "' in the platform");
  return h;
}

nlohmann::json describe_route(const simgrid::s4u::Host* a, const simgrid::s4u::Host* b) {
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  a->route_to(b, links, &latency);
  nlohmann::json j;
  j["src"] = a->get_name();
  j["dst"] = b->get_name();
  j["links"] = nlohmann::json::array();
  double bottleneck = links.empty() ? 0.0 : links.front()->get_bandwidth();
  for (const auto* l : links) {
    j["links"].push_back(l->get_name());
    bottleneck = std::min(bottleneck, l->get_bandwidth());
  }
  j["hops"] = links.size();
  j["latency_s"] = latency;
  j["bandwidth_bytes_s"] = bottleneck;
  return j;
}

int check(const std::string& file, long long requested, bool ring,
          const std::vector<std::pair<std::string, std::string>>& routes, const std::vector<Flow>& flows) {
  // zerosim's own checks first: SimGrid aborts the process on a malformed platform.
  const PlatformInfo info = check_platform_file(file, requested);

  // CM02 without cross traffic: link rates and latencies exactly as written (LV08 would rescale them).
  std::vector<std::string> argv_text = {"zerosim", "--cfg=network/model:CM02", "--cfg=network/crosstraffic:0",
                                        "--log=root.thres:critical"};
  std::vector<char*> argv;
  for (auto& s : argv_text) argv.push_back(s.data());
  int argc = static_cast<int>(argv.size());
  simgrid::s4u::Engine engine(&argc, argv.data());

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // SimGrid's parser validates against its DTD, which sim/platform_check does not fully replicate
  // (unknown attributes, the DOCTYPE's system id): its ParseError is bad input too, exit 2.
  try {
    engine.load_platform(file);
  } catch (const simgrid::ParseError& e) {
    throw ConfigError(file, "", std::string("SimGrid cannot read this platform: ") + e.what());
  }
  // Routing tables (DijkstraZone's vertex indexes) are only built when the platform is sealed, which
  // run() would do; routes are queried before that.
  engine.seal_platform();
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();

  nlohmann::json out;
  out["file"] = file;
  out["hosts"] = engine.get_host_count();
  out["gpu_hosts"] = info.gpu_hosts.size();
  out["intra"] = info.intra;
  out["inter"] = info.inter;
  out["gpus_per_node"] = info.gpus_per_node;
  out["load_s"] = load_s;
  out["rank_hosts"] = nlohmann::json::array();
  for (const auto& h : info.gpu_hosts) out["rank_hosts"].push_back(h.host);

  if (ring) {
    // The routes a ring collective over every GPU (rank order) uses: resolving them exercises the
    // routing of the whole platform.
    const auto t1 = clock::now();
    size_t hops = 0;
    double max_latency = 0;
    const size_t n = info.gpu_hosts.size();
    for (size_t i = 0; i < n; ++i) {
      std::vector<simgrid::s4u::Link*> links;
      double latency = 0;
      host_named(engine, info.gpu_hosts[i].host, file)
          ->route_to(host_named(engine, info.gpu_hosts[(i + 1) % n].host, file), links, &latency);
      hops += links.size();
      max_latency = std::max(max_latency, latency);
    }
    out["ring"] = {{"routes", n},
                   {"links", hops},
                   {"max_latency_s", max_latency},
                   {"resolve_s", std::chrono::duration<double>(clock::now() - t1).count()}};
  }

  out["routes"] = nlohmann::json::array();
  for (const auto& [a, b] : routes)
    out["routes"].push_back(describe_route(host_named(engine, a, file), host_named(engine, b, file)));

  if (!flows.empty()) {
    // All flows start at time 0; each actor records when its transfer completes.
    std::vector<double> finish(flows.size(), -1.0);
    for (size_t i = 0; i < flows.size(); ++i) {
      simgrid::s4u::Host* src = host_named(engine, flows[i].src, file);
      simgrid::s4u::Host* dst = host_named(engine, flows[i].dst, file);
      const auto bytes = static_cast<uint64_t>(flows[i].bytes);
      simgrid::s4u::Actor::create("flow" + std::to_string(i), src, [src, dst, bytes, &finish, i] {
        simgrid::s4u::Comm::sendto(src, dst, bytes);
        finish[i] = simgrid::s4u::Engine::get_clock();
      });
    }
    engine.run();
    out["flows"] = nlohmann::json::array();
    for (size_t i = 0; i < flows.size(); ++i)
      out["flows"].push_back(
          {{"src", flows[i].src}, {"dst", flows[i].dst}, {"bytes", flows[i].bytes}, {"finish_s", finish[i]}});
  }
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
  std::vector<Flow> flows;

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
