// zerosim platform --gpu NAME --nodes N --gpus-per-node G [--host ID] [...] | --check FILE [...]
// Writes the SimGrid platform XML of a cluster (sim/platform), or checks a platform file: what it
// declares (sim/platform, pugixml) and what SimGrid makes of it (sim/engine).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/cli/commands.h"
#include "sim/engine/platform_probe.h"
#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"
#include "workloads/run_config.h"
#include "workloads/units.h"

namespace zerosim {
namespace {

const std::string kWhere = "zerosim platform";

struct PlatformOptions {
  // Writing a platform. 0 = not given: they are required only without --check.
  std::string gpu;
  int64_t nodes = 0;
  int64_t gpus_per_node = 0;
  std::string intra = "auto";
  std::string inter = ClusterSpec{}.inter;
  bool rail_optimized = true;
  std::string host;            // "" = the GPU's usual node
  double host_memory_gib = 0;  // 0 = the host's
  int64_t host_cpu_cores = 0;  // 0 = the host's
  std::string pcie_gen = "auto";
  int64_t nics_per_node = 0;  // 0 = one per GPU
  double nic_gbps = 0;        // 0 = the fabric's
  double oversubscription = 1;
  bool collnet = false;
  std::string out;
  // Checking one (--check FILE).
  std::string check;
  int64_t gpus = 0;
  bool ring = false;
  std::vector<std::pair<std::string, std::string>> routes;
  std::vector<std::tuple<std::string, std::string, int64_t>> flows;
};

void write_platform(const PlatformOptions& o) {
  if (o.gpu.empty()) throw ConfigError(kWhere, "--gpu", "is required (one of: " + join(gpu_ids()) + ")");
  if (o.nodes == 0) throw ConfigError(kWhere, "--nodes", "is required");
  if (o.gpus_per_node == 0) throw ConfigError(kWhere, "--gpus-per-node", "is required");
  ClusterSpec cluster;
  cluster.gpu = o.gpu;
  cluster.gpus = o.nodes * o.gpus_per_node;
  cluster.gpus_per_node = o.gpus_per_node;
  cluster.intra = o.intra;
  cluster.inter = o.inter;
  cluster.rail_optimized = o.rail_optimized;
  cluster.host = o.host;
  if (o.host_memory_gib > 0) cluster.host_memory_bytes = std::llround(o.host_memory_gib * kBytesPerGiB);
  if (o.host_cpu_cores > 0) cluster.host_cpu_cores = o.host_cpu_cores;
  cluster.pcie_gen = o.pcie_gen == "auto" ? 0 : std::stoi(o.pcie_gen);
  cluster.nics_per_node = o.nics_per_node;
  cluster.nic_gbps = o.nic_gbps;
  cluster.oversubscription = o.oversubscription;
  cluster.collnet = o.collnet;
  const ClusterKeys flags{kWhere,
                          "--gpu",
                          "--nodes",
                          "--gpus-per-node",
                          "--intra",
                          "--inter",
                          "--host",
                          "--host-memory-gib",
                          "--host-cpu-cores",
                          "--pcie-gen",
                          "--nics-per-node",
                          "--nic-gbps",
                          "--oversubscription",
                          "--collnet"};
  const std::string xml = build_platform_xml(cluster, find_gpu(o.gpu, kWhere, "--gpu"), flags);
  if (o.out.empty()) {
    std::cout << xml;
    return;
  }
  std::ofstream f(o.out, std::ios::binary);
  if (!f) throw ConfigError(o.out, "-o", "cannot write the platform file");
  f << xml;
}

// What CPU offload will assume where the file does not say (docs/platforms.md, "Host side").
nlohmann::json cpu_host_notes(const PlatformInfo& info) {
  nlohmann::json notes = nlohmann::json::array();
  if (!info.cpu_hosts.empty()) return notes;
  const GpuSpec& gpu = info.gpu_hosts.front().gpu;
  const HostSpec host = find_host(info.host.empty() ? gpu.default_host : info.host);
  const int gen = info.pcie_gen > 0 ? info.pcie_gen : resolve_pcie_gen(0, gpu.id);
  const std::string why = info.host.empty() ? "the usual node of GPU '" + gpu.id + "'" : "zone prop host";
  notes.push_back(
      "no CPU hosts (<host> with <prop id=\"kind\" value=\"cpu\"/>): CPU offload copies use a "
      "dedicated PCIe Gen" +
      std::to_string(gen) + " x16 per GPU (no sharing) and host '" + host.id + "' (" + host.name + ", " +
      why + ") for the CPUs and host memory");
  return notes;
}

// zerosim's own checks first: SimGrid aborts the process on a malformed platform.
void check_platform(const PlatformOptions& o) {
  const PlatformInfo info = check_platform_file(o.check, o.gpus);
  PlatformProbe probe;
  probe.file = o.check;
  probe.ring = o.ring;
  probe.routes = o.routes;
  for (const auto& h : info.gpu_hosts) probe.rank_hosts.push_back(h.host);
  for (const auto& [src, dst, bytes] : o.flows) probe.flows.push_back({src, dst, bytes});
  const nlohmann::json seen = probe_platform(probe);

  nlohmann::json out;
  out["file"] = o.check;
  out["hosts"] = seen["hosts"];
  out["gpu_hosts"] = info.gpu_hosts.size();
  out["intra"] = info.intra;
  out["inter"] = info.inter;
  out["gpus_per_node"] = info.gpus_per_node;
  out["cpu_hosts"] = info.cpu_hosts.size();
  out["load_s"] = seen["load_s"];
  out["rank_hosts"] = probe.rank_hosts;
  nlohmann::json cpu_of_rank = nlohmann::json::array();
  for (const auto& h : info.gpu_hosts) cpu_of_rank.push_back(h.cpu_host);
  out["rank_cpu_hosts"] = cpu_of_rank;
  out["notes"] = cpu_host_notes(info);
  for (const auto& note : out["notes"]) std::cerr << "zerosim: note: " << note.get<std::string>() << "\n";
  if (o.ring) out["ring"] = seen["ring"];
  out["routes"] = seen["routes"];
  if (!o.flows.empty()) out["flows"] = seen["flows"];
  std::cout << out.dump(2) << "\n";
}

void run_platform(const PlatformOptions& o) {
  if (o.check.empty())
    write_platform(o);
  else
    check_platform(o);
}

void add_write_options(CLI::App& cmd, PlatformOptions& o) {
  cmd.add_option("--gpu", o.gpu, "GPU catalogue id (required without --check)")
      ->check(CLI::IsMember(gpu_ids()));
  cmd.add_option("--nodes", o.nodes, "number of nodes (required without --check)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd.add_option("--gpus-per-node", o.gpus_per_node, "GPUs per node (required without --check)")
      ->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd.add_option("--intra", o.intra,
                 "inside a node; default nvswitch when the GPU has an SXM/NVSwitch form, else pcie")
      ->check(CLI::IsMember(intra_kinds()));
  cmd.add_option("--inter", o.inter, "between nodes: one NIC per GPU into a leaf/spine fat tree")
      ->check(CLI::IsMember(inter_kinds()))
      ->capture_default_str();
  cmd.add_flag("--rail-optimized,!--no-rail-optimized", o.rail_optimized,
               "NIC k of every node on rail k's leaf (the default); --no-rail-optimized: all NICs of a node "
               "on one leaf")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd.add_option("--host", o.host,
                 "the CPU side of every node (platforms/hosts.yaml); default: the GPU's usual node")
      ->check(CLI::IsMember(host_ids()));
  cmd.add_option("--host-memory-gib", o.host_memory_gib, "host RAM per node in GiB instead of the host's")
      ->check(CLI::Range(1e-9, 1048576.0));
  cmd.add_option("--host-cpu-cores", o.host_cpu_cores,
                 "CPU cores per node instead of the host's; a multiple of its sockets (split evenly)")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  cmd.add_option("--pcie-gen", o.pcie_gen,
                 "PCIe generation of every GPU's x16 link and PCIe switch uplink; auto = the GPU's own")
      ->check(CLI::IsMember({"auto", "3", "4", "5"}))
      ->capture_default_str();
  cmd.add_option("--nics-per-node", o.nics_per_node,
                 "NICs per node, each shared by the GPUs nearest it (default: one per GPU)")
      ->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd.add_option("--nic-gbps", o.nic_gbps,
                 "NIC line rate in Gb/s (default: the fabric's, e.g. 200 for ib-hdr200)")
      ->check(CLI::Range(1.0, 1600.0));
  cmd.add_option("--oversubscription", o.oversubscription,
                 "leaf switches' down-link to up-link bandwidth ratio (1 = non-blocking, 2 = 2:1)")
      ->check(CLI::Range(1.0, 16.0));
  cmd.add_flag(
      "--collnet", o.collnet,
      "NCCL's CollNet: the fabric's SHARP switches reduce all-reduces (NCCL_COLLNET_ENABLE=1 with the "
      "SHARP plugin; InfiniBand fabrics only)");
  cmd.add_option("-o,--out", o.out, "write to FILE instead of stdout")->type_name("FILE");
}

void add_check_options(CLI::App& cmd, PlatformOptions& o) {
  cmd.add_option("--check", o.check,
                 "validate FILE, load it in SimGrid (network/model:CM02, crosstraffic off) and print JSON: "
                 "host counts, load time, routes and flow finish times")
      ->type_name("FILE");
  cmd.add_option("--gpus", o.gpus, "with --check: the platform must have at least N GPU hosts")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd.add_flag("--ring", o.ring, "with --check: resolve the route of every ring neighbour pair");
  cmd.add_option("--route", o.routes,
                 "with --check: report the route from SRC to DST (links, latency, bottleneck "
                 "bandwidth); repeatable")
      ->type_name("SRC DST");
  cmd.add_option("--flow", o.flows,
                 "with --check: time BYTES from SRC to DST; all flows start together, so shared links slow "
                 "them; repeatable")
      ->type_name("SRC DST BYTES")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 50).application_index(2));
}

}  // namespace

void add_platform_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "platform", "write a SimGrid platform XML for a GPU cluster, or check one (--check FILE)");
  cmd->footer(
      "Writes a SimGrid platform (XML, DTD 4.1) with one host per GPU, named node{n}-gpu{g}, and one CPU "
      "host "
      "per node and socket, named node{n}-cpu{s}-host, to stdout (or FILE). Link rates and latencies come "
      "from platforms/interconnect.yaml, the CPU side from platforms/hosts.yaml; the file's header comments "
      "name their sources.\n"
      "Diagnostics: zerosim platform --check FILE [--gpus N] [--ring] [--route SRC DST]... "
      "[--flow SRC DST BYTES]...");
  auto o = std::make_shared<PlatformOptions>();
  add_write_options(*cmd, *o);
  add_check_options(*cmd, *o);
  cmd->callback([o] { run_platform(*o); });
}

}  // namespace zerosim
