// The platform generator: hosts and props the engine relies on, link rates equal to the interconnect
// table (checked against hand-computed figures), and routes SimGrid will pick — replayed here with
// SimGrid's own rule (Dijkstra, edge weight = number of links in the <route>) without running SimGrid.
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "generated_cluster.h"
#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"
#include "workloads/units.h"

using namespace zerosim;
using zerosim::testing::cluster;

namespace {

std::string build(const ClusterSpec& c) { return build_platform_xml(c, find_gpu(c.gpu)); }

// Link id -> bandwidth (B/s) and latency (s) as written in the XML (units GBps and us, as generated).
struct LinkValues {
  double bandwidth = 0, latency = 0;
  std::string policy;
};
std::map<std::string, LinkValues> links_of(const std::string& xml) {
  pugi::xml_document doc;
  REQUIRE(doc.load_string(xml.c_str()));
  std::map<std::string, LinkValues> out;
  for (const auto& x : doc.select_nodes("//link")) {
    const pugi::xml_node l = x.node();
    const std::string bw = l.attribute("bandwidth").as_string(), lat = l.attribute("latency").as_string();
    REQUIRE(bw.substr(bw.size() - 4) == "GBps");
    REQUIRE(lat.substr(lat.size() - 2) == "us");
    out[l.attribute("id").as_string()] = {std::stod(bw) * 1e9, std::stod(lat) * 1e-6,
                                          l.attribute("sharing_policy").as_string()};
  }
  return out;
}

// SimGrid's DijkstraZone on the <route> graph: the path from every host (GPU or CPU) to every other,
// and whether it is the only shortest one (a tie would leave the choice to vertex numbering).
struct Paths {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> path;  // vertices, src..dst
  std::map<std::pair<std::string, std::string>, int> shortest_count;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> edge_links;  // a <route>'s links
  std::set<std::string> gpus, cpus;
  bool host(const std::string& v) const { return gpus.count(v) || cpus.count(v); }
};
Paths replay_routing(const std::string& xml) {
  pugi::xml_document doc;
  REQUIRE(doc.load_string(xml.c_str()));
  std::map<std::string, int> id;
  std::vector<std::string> name;
  auto vertex = [&](const std::string& n) {
    auto [it, inserted] = id.try_emplace(n, static_cast<int>(name.size()));
    if (inserted) name.push_back(n);
    return it->second;
  };
  Paths p;
  for (const auto& h : doc.select_nodes("//host")) {
    const std::string host = h.node().attribute("id").as_string();
    vertex(host);
    const bool cpu = h.node().find_child_by_attribute("prop", "id", "kind").attribute("value").as_string() ==
                     std::string("cpu");
    (cpu ? p.cpus : p.gpus).insert(host);
  }
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                      boost::property<boost::edge_weight_t, int>>;
  std::vector<std::tuple<int, int, int>> edges;
  for (const auto& r : doc.select_nodes("//route")) {
    const pugi::xml_node n = r.node();
    const std::string src = n.attribute("src").as_string(), dst = n.attribute("dst").as_string();
    const int a = vertex(src), b = vertex(dst);
    std::vector<std::string> links;
    for (const auto& l : n.children("link_ctn")) links.push_back(l.attribute("id").as_string());
    const int w = static_cast<int>(links.size());
    edges.emplace_back(a, b, w);
    p.edge_links[{src, dst}] = links;
    if (std::string(n.attribute("symmetrical").as_string("YES")) != "NO") edges.emplace_back(b, a, w);
  }
  Graph g(name.size());
  for (const auto& [a, b, w] : edges) boost::add_edge(a, b, w, g);

  std::set<std::string> hosts = p.gpus;
  hosts.insert(p.cpus.begin(), p.cpus.end());
  for (const auto& src : hosts) {
    const int s = id.at(src);
    std::vector<int> dist(name.size());
    boost::dijkstra_shortest_paths(g, s, boost::distance_map(dist.data()));
    // Number of shortest paths: vertices in order of distance, summing over tight in-edges.
    std::vector<int> order(name.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return dist[x] < dist[y]; });
    std::vector<int> count(name.size(), 0), pred(name.size(), -1);
    count[s] = 1;
    for (int v : order)
      for (const auto& [a, b, w] : edges)
        if (b == v && a != v && count[a] > 0 && dist[a] + w == dist[v]) {
          count[v] += count[a];
          pred[v] = a;
        }
    for (const auto& dst : hosts) {
      if (dst == src || count[id.at(dst)] == 0) continue;  // unreachable (a CPU host without GPUs)
      std::vector<std::string> path;
      for (int v = id.at(dst); v != -1; v = v == s ? -1 : pred[v]) path.insert(path.begin(), name[v]);
      p.path[{src, dst}] = path;
      p.shortest_count[{src, dst}] = count[id.at(dst)];
    }
  }
  return p;
}

std::string node_of(const std::string& host) { return host.substr(0, host.find('-')); }

}  // namespace

TEST_CASE("generated platform: one host per GPU with the props the engine reads, node-major") {
  const std::string xml = build(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200"));
  REQUIRE(xml.find("<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">") != std::string::npos);
  REQUIRE(xml.find("<platform version=\"4.1\">") != std::string::npos);
  const PlatformInfo info = check_platform_xml(xml, "generated");
  REQUIRE(info.gpu_hosts.size() == 16);
  CHECK(info.intra == "nvswitch");
  CHECK(info.inter == "ib-hdr200");
  CHECK(info.gpus_per_node == 8);
  for (size_t rank = 0; rank < 16; ++rank) {
    const auto& h = info.gpu_hosts[rank];
    CHECK(h.host == "node" + std::to_string(rank / 8) + "-gpu" + std::to_string(rank % 8));
    CHECK(h.node == static_cast<int64_t>(rank / 8));
    CHECK(h.local_rank == static_cast<int64_t>(rank % 8));
    CHECK(h.gpu.id == "a100-80gb-sxm");
    CHECK(h.gpu.memory_bytes == std::llround(79.15 * zerosim::kBytesPerGiB));  // gpus.yaml: 79.15 GiB
    CHECK(h.gpu.bf16_flops == Approx(312e12));
    CHECK(h.gpu.mem_bw_bytes_s == Approx(2039e9));
  }
  CHECK(xml.find("<host id=\"node1-gpu7\" speed=\"312000000000000f\">") != std::string::npos);
}

TEST_CASE("generated link rates are the physical figures of the sources") {
  // PCIe 4.0 x16: 16 GT/s x 16 lanes x 128/130 / 8 = 31.5077 GB/s; PCIe 5.0 twice that.
  const double gen4 = 16e9 * 16 * 128.0 / 130.0 / 8.0;
  SECTION("DGX A100: NVLink3 300 GB/s per GPU per direction, HDR 25 GB/s NICs") {
    const auto l = links_of(build(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200")));
    CHECK(l.at("node0-gpu3-nvlink").bandwidth == Approx(300e9));
    CHECK(l.at("node0-gpu3-nvlink").policy == "SPLITDUPLEX");
    CHECK(l.at("node0-gpu3-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
    CHECK(l.at("node1-gpu7-nic").bandwidth == Approx(25e9));
    CHECK(l.at("node1-gpu7-nic-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
    // NIC latency 0.6 us + half of the QM8700's 130 ns hop.
    CHECK(l.at("node1-gpu7-nic").latency == Approx(0.665e-6));
    // Leaf uplink: 20 down ports (40-port switch, half down) x 25 GB/s, one 130 ns hop.
    CHECK(l.at("rail7-leaf0-uplink").bandwidth == Approx(20 * 25e9));
    CHECK(l.at("rail7-leaf0-uplink").latency == Approx(0.13e-6));
  }
  SECTION("DGX H100: NVLink4 450 GB/s, NDR 50 GB/s, Gen5 host links") {
    const auto l = links_of(build(cluster("h100-80gb-sxm", 2, 8, "nvswitch", "ib-ndr400")));
    CHECK(l.at("node0-gpu0-nvlink").bandwidth == Approx(450e9));
    CHECK(l.at("node0-gpu0-pcie").bandwidth == Approx(2 * gen4).epsilon(1e-9));
    CHECK(l.at("node0-gpu0-nic").bandwidth == Approx(50e9));
  }
  SECTION("RTX 3090 NVLink bridge 56.25 GB/s per direction; PCIe 4.0 otherwise") {
    const auto l = links_of(build(cluster("rtx-3090", 1, 2, "nvlink-bridge", "none")));
    CHECK(l.at("node0-gpu0-nvlink").bandwidth == Approx(56.25e9));
    CHECK(l.at("node0-gpu1-nvlink").bandwidth == Approx(56.25e9));
    CHECK(l.at("node0-gpu0-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
    CHECK(l.count("node0-socket-link") == 0);  // a workstation: both GPUs behind one CPU
  }
  SECTION("A100 PCIe server with 4 GPUs: two sockets joined by the CPU interconnect") {
    const auto l = links_of(build(cluster("a100-80gb-pcie", 1, 4, "pcie", "none")));
    CHECK(l.at("node0-socket-link").bandwidth == Approx(62.4e9));
    CHECK(l.count("node0-cpu0-rc") == 1);
    CHECK(l.count("node0-cpu1-rc") == 1);
  }
  SECTION("a Gen4 GPU host caps an NDR NIC at its PCIe rate") {
    const auto l = links_of(build(cluster("l40s", 2, 8, "pcie", "ib-ndr400")));
    CHECK(l.at("node0-gpu0-nic").bandwidth == Approx(50e9));
    CHECK(l.at("node0-gpu0-nic-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
  }
}

TEST_CASE("every link rate and latency in generated XML comes from the interconnect table") {
  const auto& cat = interconnect_catalogue();
  const auto l = links_of(build(cluster("h100-80gb-sxm", 3, 8, "nvswitch", "roce-200g", false)));
  const auto& f = cat.fabrics.at("roce-200g");
  CHECK(l.at("node2-gpu5-nic").bandwidth == Approx(f.port_bytes_s));
  CHECK(l.at("node2-gpu5-nic").latency == Approx(f.nic_latency_s + f.switch_latency_s / 2));
  CHECK(l.at("node0-gpu0-nvlink").latency == Approx(cat.nvlink_port_latency_s));
  CHECK(l.at("node0-nvswitch-xbar").latency == Approx(cat.nvswitch_latency_s / 2));  // half in, half out
  CHECK(l.at("node0-gpu0-pcie").latency == Approx(cat.pcie_link_latency_s));
}

TEST_CASE("routes: the physical path is the unique shortest one, never through another GPU or a CPU") {
  struct Case {
    ClusterSpec c;
    const char* what;
    std::string host = "";  // "" = the GPU's usual node
  };
  const std::vector<Case> cases = {
      {cluster("a100-80gb-sxm", 3, 4, "nvswitch", "ib-hdr200", true), "NVSwitch, rail-optimised"},
      {cluster("a100-80gb-sxm", 3, 4, "nvswitch", "ib-hdr200", false), "NVSwitch, one leaf per node group"},
      {cluster("h100-80gb-sxm", 3, 8, "nvswitch", "roce-100g", false),
       "NVSwitch, several leaves, not rail-optimised"},
      {cluster("a100-80gb-pcie", 3, 4, "nvlink-bridge", "roce-100g", true), "bridges, two sockets, rails"},
      {cluster("a100-80gb-pcie", 2, 4, "pcie", "ib-hdr200", false), "PCIe, two sockets"},
      {cluster("l40s", 2, 8, "pcie", "ib-ndr400", true), "PCIe, 8 GPUs, rails"},
      {cluster("rtx-3090", 1, 2, "nvlink-bridge", "none", true), "workstation with bridge"},
      {cluster("a100-80gb-pcie", 2, 2, "pcie", "ib-hdr200", true), "2 GPUs in a 2-socket server"},
      {cluster("rtx-4090", 1, 4, "pcie", "none", true), "4 GPUs, two root complexes, a 1-socket host"},
      {cluster("a100-80gb-pcie", 2, 4, "pcie", "ib-hdr200", true), "PCIe behind DGX A100-style switches",
       "dgx-a100"},
      {cluster("h100-80gb-sxm", 2, 6, "nvswitch", "ib-ndr400", true), "6 GPUs, switches across sockets",
       "dgx-a100"},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    ClusterSpec c = k.c;
    c.host = k.host;
    const GpuSpec gpu = find_gpu(c.gpu);
    const HostSpec host = resolve_host(c, gpu);
    const Paths p = replay_routing(build_platform_xml(c, gpu, host));
    for (const auto& src : p.gpus)
      for (const auto& dst : p.gpus) {
        if (src == dst) continue;
        INFO(src << " -> " << dst);
        const auto& path = p.path.at({src, dst});
        CHECK(p.shortest_count.at({src, dst}) == 1);
        for (size_t i = 1; i + 1 < path.size(); ++i) CHECK(!p.host(path[i]));  // no GPU, no CPU host
        if (node_of(src) == node_of(dst))                                      // never leaves the node
          for (const auto& v : path) CHECK(v.find("leaf") == std::string::npos);
      }
    // Each GPU reaches its CPU host, and back, over their one edge: the unique shortest path.
    const std::vector<std::string> cpu_of = rank_cpu_host_names(c, gpu, host);
    for (int64_t r = 0; r < c.gpus; ++r) {
      const std::string g = gpu_host_name(r / c.gpus_per_node, r % c.gpus_per_node);
      const std::string& cpu = cpu_of[static_cast<size_t>(r)];
      INFO(g << " <-> " << cpu);
      CHECK(node_of(cpu) == node_of(g));
      CHECK(p.path.at({g, cpu}) == std::vector<std::string>{g, cpu});
      CHECK(p.path.at({cpu, g}) == std::vector<std::string>{cpu, g});
      CHECK(p.shortest_count.at({g, cpu}) == 1);
      CHECK(p.shortest_count.at({cpu, g}) == 1);
    }
  }
}

TEST_CASE("GPU to CPU: a DGX A100 GPU shares its PCIe switch's uplink, a workstation GPU does not") {
  // DGX A100: GPUs 0-3 on socket 0, two per PCIe switch; GPU 1 shares switch 0's uplink with GPU 0.
  const Paths dgx = replay_routing(build(cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none")));
  CHECK(dgx.path.at({"node0-gpu1", "node0-cpu0-host"}) ==
        std::vector<std::string>{"node0-gpu1", "node0-cpu0-host"});
  CHECK(
      dgx.edge_links.at({"node0-gpu1", "node0-cpu0-host"}) ==
      std::vector<std::string>{"node0-gpu1-pcie", "node0-pciesw0-uplink", "node0-cpu0-rc", "node0-cpu0-mem"});
  CHECK(dgx.edge_links.at({"node0-gpu0", "node0-cpu0-host"})[1] == "node0-pciesw0-uplink");
  CHECK(dgx.edge_links.at({"node0-gpu2", "node0-cpu0-host"})[1] == "node0-pciesw1-uplink");
  CHECK(dgx.edge_links.at({"node0-gpu5", "node0-cpu1-host"})[1] == "node0-pciesw2-uplink");
  // Workstation: one socket, each GPU's own x16 straight into the root complex and memory.
  const Paths ws = replay_routing(build(cluster("rtx-3090", 1, 2, "pcie", "none")));
  CHECK(ws.cpus == std::set<std::string>{"node0-cpu0-host"});
  CHECK(ws.edge_links.at({"node0-gpu1", "node0-cpu0-host"}) ==
        std::vector<std::string>{"node0-gpu1-pcie", "node0-cpu0-rc", "node0-cpu0-mem"});
  // DGX H100: one H100 per ConnectX-7 switch, no shared uplink.
  const Paths h100 = replay_routing(build(cluster("h100-80gb-sxm", 1, 8, "nvswitch", "none")));
  CHECK(h100.edge_links.at({"node0-gpu6", "node0-cpu1-host"}) ==
        std::vector<std::string>{"node0-gpu6-pcie", "node0-cpu1-rc", "node0-cpu1-mem"});
}

TEST_CASE("CPU hosts carry the host catalogue's numbers, per socket") {
  const std::string xml = build(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200"));
  const PlatformInfo info = check_platform_xml(xml, "generated");
  REQUIRE(info.cpu_hosts.size() == 4);  // 2 nodes x 2 sockets
  const auto& c = info.cpu_hosts[3];
  CHECK(c.host == "node1-cpu1-host");
  CHECK(c.node == 1);
  CHECK(c.socket == 1);
  CHECK(c.cores == 64);                                  // EPYC 7742
  CHECK(c.numa_nodes == 4);                              // NPS4
  CHECK(c.memory_bytes == 512 * zerosim::kBytesPerGiB);  // 1 TiB per node, half per socket
  CHECK(c.mem_bw_bytes_s == Approx(140e9));
  CHECK(c.cpu_adam_elements_per_s_per_core == Approx(5e7));
  CHECK(xml.find("<host id=\"node1-cpu1-host\" speed=\"50000000f\" core=\"64\">") != std::string::npos);
  CHECK(info.host == "dgx-a100");
  CHECK(info.host_memory_bytes == 1024 * zerosim::kBytesPerGiB);
  CHECK(info.pcie_gen == 4);
  // The checker finds the CPU host each GPU routes to: the one the generator meant.
  const std::vector<std::string> meant =
      rank_cpu_host_names(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200"), find_gpu("a100-80gb-sxm"),
                          find_host("dgx-a100"));
  REQUIRE(info.gpu_hosts.size() == meant.size());
  for (size_t r = 0; r < meant.size(); ++r) CHECK(info.gpu_hosts[r].cpu_host == meant[r]);
  CHECK(meant[3] == "node0-cpu0-host");
  CHECK(meant[4] == "node0-cpu1-host");
  CHECK(meant[12] == "node1-cpu1-host");
  const auto l = links_of(xml);
  CHECK(l.at("node1-cpu0-mem").bandwidth == Approx(140e9));
  CHECK(l.at("node1-cpu0-mem").policy == "SHARED");  // reads and writes share the DRAM channels
  CHECK(l.at("node1-cpu0-mem").latency == Approx(0.1e-6));
  // The root complex of a socket: 4 GPUs' x16 Gen4 = 4 x 31.5077 = 126.03 GB/s, half the 0.3 us bridge.
  CHECK(l.at("node1-cpu0-rc").bandwidth == Approx(4 * 16e9 * 16 * 128.0 / 130.0 / 8.0));
  CHECK(l.at("node1-cpu0-rc").latency == Approx(0.15e-6));
  CHECK(l.at("node0-pciesw3-uplink").latency == Approx(0.105e-6));  // PEX88000 cut-through
}

TEST_CASE("cluster.pcie_gen sets every GPU's x16 link and the switch uplinks; auto is the GPU's own") {
  const double gen3 = 8e9 * 16 * 128.0 / 130.0 / 8.0;  // 15.7538 GB/s
  ClusterSpec c = cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200");
  c.pcie_gen = 3;
  const auto l = links_of(build(c));
  CHECK(l.at("node0-gpu0-pcie").bandwidth == Approx(gen3));
  CHECK(l.at("node0-pciesw0-uplink").bandwidth == Approx(gen3));
  CHECK(l.at("node0-gpu0-nic-pcie").bandwidth == Approx(gen3));  // the NIC's path is the GPU's link too
  CHECK(l.at("node0-gpu0-nvlink").bandwidth == Approx(300e9));   // NVLink untouched
  c.pcie_gen = 4;
  ClusterSpec automatic = c;
  automatic.pcie_gen = 0;
  CHECK(build(c) == build(automatic));
  CHECK(resolve_pcie_gen(0, "h100-80gb-sxm") == 5);
  CHECK(resolve_pcie_gen(3, "h100-80gb-sxm") == 3);
  CHECK(resolve_pcie_gen(0, "my-own-gpu") == 4);
}

TEST_CASE("a host with fewer or more sockets than the PCIe layout: every GPU still reaches one CPU host") {
  // 4 RTX 4090s: two root complexes (more than 2 GPUs), but the workstation has one socket. GPUs 2-3
  // reach it over the socket link, as their GPU-GPU traffic does.
  const Paths p = replay_routing(build(cluster("rtx-4090", 1, 4, "pcie", "none")));
  CHECK(p.edge_links.at({"node0-gpu3", "node0-cpu0-host"}) ==
        std::vector<std::string>{"node0-gpu3-pcie", "node0-cpu1-rc", "node0-socket-link", "node0-cpu0-mem"});
  // 2 A100 PCIe: one root complex; the 2-socket server's second CPU host has no GPU.
  const auto info = check_platform_xml(build(cluster("a100-80gb-pcie", 1, 2, "pcie", "none")), "generated");
  CHECK(info.cpu_hosts.size() == 2);
  CHECK(info.gpu_hosts[1].cpu_host == "node0-cpu0-host");
}
TEST_CASE("rail-optimised: same rail stays on one leaf, another rail crosses the spine") {
  const Paths rail = replay_routing(build(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200", true)));
  CHECK(rail.path.at({"node0-gpu3", "node1-gpu3"}) ==
        std::vector<std::string>{"node0-gpu3", "rail3-leaf0", "node1-gpu3"});
  CHECK(rail.path.at({"node0-gpu3", "node1-gpu5"}) ==
        std::vector<std::string>{"node0-gpu3", "rail3-leaf0", "spine", "rail5-leaf0", "node1-gpu5"});
  const Paths flat = replay_routing(build(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200", false)));
  // 20 down ports hold two 8-GPU nodes: both nodes on leaf0, any GPU pair one switch hop apart.
  CHECK(flat.path.at({"node0-gpu3", "node1-gpu5"}) ==
        std::vector<std::string>{"node0-gpu3", "leaf0", "node1-gpu5"});
}

TEST_CASE("GPUs without PCIe peer-to-peer get the route of any PCIe pair (docs/platforms.md)") {
  // No P2P (RTX 3090/4090): NCCL diverts the pair through the CPU and its SHM transport writes into and
  // reads from host memory over the same two x16 links, so the 3090 workstation is built exactly like
  // an A100-PCIe one. PCIe 4.0 x16 = 16 GT/s x 16 lanes x 128/130 / 8 = 31.5077 GB/s per GPU link; the
  // one root complex carries both: 2 x 31.5077 = 63.0154 GB/s.
  const double gen4 = 16e9 * 16 * 128.0 / 130.0 / 8.0;
  const std::string geforce = build(cluster("rtx-3090", 1, 2, "pcie", "none"));
  auto l = links_of(geforce);
  // Two GPU links, the root complex, and the CPU's memory, which only GPU <-> CPU copies cross.
  CHECK(l.size() == 4);
  CHECK(l.erase("node0-cpu0-mem") == 1);
  CHECK(l.at("node0-gpu0-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
  CHECK(l.at("node0-gpu1-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
  CHECK(l.at("node0-cpu0-rc").bandwidth == Approx(2 * gen4).epsilon(1e-9));
  // GPU -> GPU latency: pcie 0.35 + root complex in 0.15 + out 0.15 + pcie 0.35 = 1.0 us.
  CHECK(2 * l.at("node0-gpu0-pcie").latency + 2 * l.at("node0-cpu0-rc").latency == Approx(1.0e-6));
  const Paths p = replay_routing(geforce);
  CHECK(p.path.at({"node0-gpu0", "node0-gpu1"}) ==
        std::vector<std::string>{"node0-gpu0", "node0-cpu0", "node0-gpu1"});

  auto a100 = links_of(build(cluster("a100-80gb-pcie", 1, 2, "pcie", "none")));
  a100.erase("node0-cpu0-mem");  // the 2-socket server's own memory
  a100.erase("node0-cpu1-mem");
  REQUIRE(a100.size() == l.size());
  for (const auto& [id, v] : l) {
    INFO(id);
    CHECK(a100.at(id).bandwidth == v.bandwidth);
    CHECK(a100.at(id).latency == v.latency);
  }
}

TEST_CASE("impossible clusters are ConfigErrors naming the cluster key") {
  auto key_of = [](const ClusterSpec& c) {
    try {
      build(c);
    } catch (const ConfigError& e) {
      return e.key();
    }
    return std::string("no error");
  };
  CHECK(key_of(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "none")) == "cluster.inter");
  CHECK(key_of(cluster("rtx-3090", 1, 2, "nvswitch", "none")) == "cluster.intra");
  CHECK(key_of(cluster("l40s", 1, 2, "nvlink-bridge", "none")) == "cluster.intra");
  CHECK(key_of(cluster("a100-80gb-sxm", 1, 8, "nvlink", "none")) == "cluster.intra");
  CHECK(key_of(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-edr")) == "cluster.inter");
  ClusterSpec zero_per_node = cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none");
  zero_per_node.gpus_per_node = 0;
  CHECK(key_of(zero_per_node) == "cluster.gpus_per_node");
  CHECK_THROWS_WITH(build(cluster("rtx-3090", 1, 2, "nvswitch", "none")),
                    Catch::Contains("nvlink-bridge or pcie"));
}

TEST_CASE("ClusterKeys names the settings as the caller knows them") {
  const ClusterKeys flags{"zerosim platform", "--gpu",     "--nodes", "--gpus-per-node",
                          "--intra",          "--inter",   "--host",  "--host-memory-gib",
                          "--host-cpu-cores", "--pcie-gen"};
  auto error_of = [&](const ClusterSpec& c) {
    try {
      build_platform_xml(c, find_gpu(c.gpu), flags);
    } catch (const ConfigError& e) {
      return std::make_pair(e.file(), e.key());
    }
    return std::make_pair(std::string("no error"), std::string());
  };
  using Named = std::pair<std::string, std::string>;
  CHECK(error_of(cluster("a100-80gb-sxm", 2, 8, "nvswitch", "none")) == Named{"zerosim platform", "--inter"});
  CHECK(error_of(cluster("rtx-3090", 1, 2, "nvswitch", "none")) == Named{"zerosim platform", "--intra"});
  ClusterSpec zero_per_node = cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none");
  zero_per_node.gpus_per_node = 0;
  CHECK(error_of(zero_per_node) == Named{"zerosim platform", "--gpus-per-node"});
  ClusterSpec odd_cores = cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none");
  odd_cores.host_cpu_cores = 127;  // the DGX A100's 2 sockets
  CHECK(error_of(odd_cores) == Named{"zerosim platform", "--host-cpu-cores"});
  ClusterSpec unknown_host = cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none");
  unknown_host.host = "mainframe";
  CHECK(error_of(unknown_host) == Named{"zerosim platform", "--host"});
  ClusterSpec gen6 = cluster("a100-80gb-sxm", 1, 8, "nvswitch", "none");
  gen6.pcie_gen = 6;
  CHECK(error_of(gen6) == Named{"zerosim platform", "--pcie-gen"});
  // The message itself is the builder's, whoever names the key.
  CHECK_THROWS_WITH(
      build_platform_xml(cluster("rtx-3090", 1, 2, "nvswitch", "none"), find_gpu("rtx-3090"), flags),
      "zerosim platform: key '--intra': GPU 'rtx-3090' has no SXM/NVSwitch form; use nvlink-bridge "
      "or pcie");
}

TEST_CASE("intra auto: NVSwitch for an SXM GPU, PCIe otherwise, as if named") {
  CHECK(build(cluster("h100-80gb-sxm", 1, 8, "auto", "none")) ==
        build(cluster("h100-80gb-sxm", 1, 8, "nvswitch", "none")));
  CHECK(build(cluster("rtx-3090", 1, 2, "auto", "none")) == build(cluster("rtx-3090", 1, 2, "pcie", "none")));
}

TEST_CASE("a partial last node still gets whole nodes of hosts") {
  ClusterSpec c = cluster("a100-80gb-sxm", 2, 8, "nvswitch", "ib-hdr200");
  c.gpus = 12;  // ranks 0-11; the second node is a full DGX of which the run uses 4 GPUs
  CHECK(check_platform_xml(build(c), "generated", 12).gpu_hosts.size() == 16);
}

TEST_CASE("128 nodes x 8 GPUs: generates and validates quickly") {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string xml = build(cluster("h100-80gb-sxm", 128, 8, "nvswitch", "ib-ndr400"));
  const PlatformInfo info = check_platform_xml(xml, "generated", 1024);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(info.gpu_hosts.size() == 1024);
  CHECK(info.gpu_hosts.back().host == "node127-gpu7");
  CHECK(s < 2.0);  // measured ~0.05 s; a regression to quadratic generation would show here
}

TEST_CASE("bundled platforms are exactly what the generator writes (scripts/regenerate-platforms.sh)") {
  struct Bundled {
    const char* file;
    ClusterSpec c;
  };
  const std::vector<Bundled> bundled = {
      {"platforms/dgx-a100.xml", cluster("a100-80gb-sxm", 1, 8, "nvswitch", "ib-hdr200")},
      {"platforms/dgx-h100.xml", cluster("h100-80gb-sxm", 1, 8, "nvswitch", "ib-ndr400")},
      {"platforms/workstation-2x3090-pcie.xml", cluster("rtx-3090", 1, 2, "pcie", "none")},
      {"platforms/workstation-2x3090-nvlink.xml", cluster("rtx-3090", 1, 2, "nvlink-bridge", "none")},
      {"platforms/server-4xa100-pcie.xml", cluster("a100-80gb-pcie", 1, 4, "pcie", "none")},
  };
  for (const auto& b : bundled) {
    const std::string path = std::string(ZEROSIM_SOURCE_DIR) + "/" + b.file;
    INFO(path);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    CHECK(ss.str() == build(b.c));
    const PlatformInfo info = check_platform_file(path, b.c.gpus);
    CHECK(static_cast<int64_t>(info.gpu_hosts.size()) == b.c.gpus);
    CHECK(info.intra == b.c.intra);
  }
}
