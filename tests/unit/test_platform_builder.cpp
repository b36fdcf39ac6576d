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

#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_builder.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/units.h"

using namespace zerosim;

namespace {

ClusterSpec cluster(const std::string& gpu, int64_t nodes, int64_t gpn, const std::string& intra,
                    const std::string& inter, bool rail = true) {
  ClusterSpec c;
  c.gpu = gpu;
  c.gpus = nodes * gpn;
  c.gpus_per_node = gpn;
  c.intra = intra;
  c.inter = inter;
  c.rail_optimized = rail;
  return c;
}

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

// SimGrid's DijkstraZone on the <route> graph: the path every GPU pair gets, and whether it is the
// only shortest one (a tie would leave the choice to vertex numbering).
struct Paths {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> path;  // vertices, src..dst
  std::map<std::pair<std::string, std::string>, int> shortest_count;
  std::set<std::string> gpus;
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
    p.gpus.insert(host);
  }
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                      boost::property<boost::edge_weight_t, int>>;
  std::vector<std::tuple<int, int, int>> edges;
  for (const auto& r : doc.select_nodes("//route")) {
    const pugi::xml_node n = r.node();
    const int a = vertex(n.attribute("src").as_string()), b = vertex(n.attribute("dst").as_string());
    const int w =
        static_cast<int>(std::distance(n.children("link_ctn").begin(), n.children("link_ctn").end()));
    edges.emplace_back(a, b, w);
    if (std::string(n.attribute("symmetrical").as_string("YES")) != "NO") edges.emplace_back(b, a, w);
  }
  Graph g(name.size());
  for (const auto& [a, b, w] : edges) boost::add_edge(a, b, w, g);

  for (const auto& src : p.gpus) {
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
    for (const auto& dst : p.gpus) {
      if (dst == src) continue;
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

TEST_CASE("routes: the physical path is the unique shortest one, never through another GPU") {
  struct Case {
    ClusterSpec c;
    const char* what;
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
  };
  for (const auto& k : cases) {
    INFO(k.what);
    const Paths p = replay_routing(build(k.c));
    for (const auto& [pair, path] : p.path) {
      const auto& [src, dst] = pair;
      INFO(src << " -> " << dst);
      CHECK(p.shortest_count.at(pair) == 1);
      for (size_t i = 1; i + 1 < path.size(); ++i) CHECK(p.gpus.count(path[i]) == 0);
      if (node_of(src) == node_of(dst))  // never leaves the node
        for (const auto& v : path) CHECK(v.find("leaf") == std::string::npos);
    }
  }
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
  const auto l = links_of(geforce);
  CHECK(l.size() == 3);  // two GPU links and the root complex: no host-memory element
  CHECK(l.at("node0-gpu0-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
  CHECK(l.at("node0-gpu1-pcie").bandwidth == Approx(gen4).epsilon(1e-9));
  CHECK(l.at("node0-cpu0-rc").bandwidth == Approx(2 * gen4).epsilon(1e-9));
  // GPU -> GPU latency: pcie 0.35 + root complex in 0.15 + out 0.15 + pcie 0.35 = 1.0 us.
  CHECK(2 * l.at("node0-gpu0-pcie").latency + 2 * l.at("node0-cpu0-rc").latency == Approx(1.0e-6));
  const Paths p = replay_routing(geforce);
  CHECK(p.path.at({"node0-gpu0", "node0-gpu1"}) ==
        std::vector<std::string>{"node0-gpu0", "node0-cpu0", "node0-gpu1"});

  const auto a100 = links_of(build(cluster("a100-80gb-pcie", 1, 2, "pcie", "none")));
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
  const ClusterKeys flags{"zerosim platform", "--gpu", "--nodes", "--gpus-per-node", "--intra", "--inter"};
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
