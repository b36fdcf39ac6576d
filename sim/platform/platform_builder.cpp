#include "sim/platform/platform_builder.h"

#include <algorithm>
#include <vector>

#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_xml_writer.h"
#include "workloads/config_error.h"

// Why the routes look the way they do
// ------------------------------------
// A 128-node cluster has ~1000 GPU hosts plus switches. Explicit routes for every host pair (routing
// "Full") would be a million <route> elements; Floyd is cubic in the vertex count. DijkstraCache takes
// only the edges between adjacent elements and computes each source's shortest-path tree on first use
// (measured for 128 x 8 GPUs in docs/platforms.md).
//
// SimGrid's Dijkstra weighs an edge by the number of links in its <route> (DijkstraZone.cpp: "count of
// links"), so the link count of each edge decides which path wins. Paths and their link counts:
//   GPU - GPU over NVSwitch : port(a) + crossbar in + crossbar out + port(b)        = 4
//   GPU - GPU over a bridge : port(a) + bridge + port(b)                            = 3
//   GPU - GPU over PCIe     : pcie(a) + root complex in + root complex out + pcie(b) = 4
//                  (other socket: pcie(a) + rc0 in + socket link + rc1 out + pcie(b) = 5)
//   GPU - leaf switch       : GPU pcie + NIC pcie + NIC port                        = 3
//   leaf - spine            : leaf uplink trunk                                     = 1
//   GPU - its CPU host      : pcie + [PCIe switch uplink] + root complex + memory   = 3 or 4
//                  (a PCIe node whose host has fewer sockets than its root complexes: + socket link)
// All of them are physical links. With these counts the intended path is the unique shortest one:
// intra-node (3 to 5) beats leaving through the NICs (3 + 3 = 6); a bridged pair (3) uses its bridge,
// not PCIe (4); a cross-rail inter-node path through the spine (3 + 1 + 1 + 3 = 8) beats hopping to a
// GPU on the destination's rail first (at least 3 + 3 + 3 = 9), so no route transits another GPU; and
// GPU - CPU host - GPU (at least 3 + 3 = 6) loses to every intra-node path (at most 5), so no GPU-GPU
// route transits a CPU host. The root complex is on the GPU - CPU host edge for that reason too: without
// it the edge would have 2 links and a GPU pair through the CPU host (4) would tie NVSwitch and PCIe.
// Each GPU has one edge to one CPU host, so the GPU-GPU and GPU-NIC routes are what they were before
// the CPU hosts existed.
// tests/unit/test_platform_builder.cpp replays SimGrid's rule on generated platforms to check it.
//
// Crossbars (NVSwitch, CPU root complex) are router vertices reached by one-way routes: GPU -> crossbar
// carries the GPU's port and the crossbar's inbound half, crossbar -> GPU the outbound half and the
// port. That keeps 2 edges per GPU instead of a full mesh per node (Dijkstra's time grows with the edge
// count) while every GPU-GPU path names each link once.
//
// Links are full duplex (SPLITDUPLEX): UP is the direction away from the source GPU; SimGrid uses the
// DOWN half for the reverse of a symmetrical <route>. Crossbars are as wide as all their ports together,
// so they never limit a flow the ports would not; they carry the element's latency.

namespace zerosim {

std::string gpu_host_name(long node, long local_rank) {
  return "node" + std::to_string(node) + "-gpu" + std::to_string(local_rank);
}

std::string cpu_host_name(long node, long socket) {
  return "node" + std::to_string(node) + "-cpu" + std::to_string(socket) + "-host";
}

namespace {

using Dir = LinkDirection;

std::string default_intra(const GpuLinks& links) { return links.nvswitch_bytes_s > 0 ? "nvswitch" : "pcie"; }

// The cluster with `intra: auto` resolved to the GPU's own interconnect.
ClusterSpec with_intra_resolved(const ClusterSpec& cluster, const GpuLinks& links) {
  ClusterSpec c = cluster;
  if (c.intra == "auto") c.intra = default_intra(links);
  return c;
}

void check_cluster(const ClusterSpec& c, const GpuSpec& gpu, const GpuLinks& links, const ClusterKeys& keys) {
  const auto& gens = interconnect_catalogue().pcie_x16_bytes_s;
  if (c.pcie_gen != 0 && !gens.count(c.pcie_gen)) {
    std::vector<std::string> allowed = {"auto"};
    for (const auto& kv : gens) allowed.push_back(std::to_string(kv.first));
    throw ConfigError(
        keys.file, keys.pcie_gen,
        "no PCIe generation " + std::to_string(c.pcie_gen) + " (allowed: " + join(allowed) + ")");
  }
  if (c.host_memory_bytes && *c.host_memory_bytes <= 0)
    throw ConfigError(keys.file, keys.host_memory_gib, "must be more than 0 GiB (host RAM per node)");
  if (c.gpus < 1)
    throw ConfigError(keys.file, keys.gpus, "must be at least 1 (got " + std::to_string(c.gpus) + ")");
  if (c.gpus_per_node < 1)
    throw ConfigError(keys.file, keys.gpus_per_node,
                      "must be at least 1 (got " + std::to_string(c.gpus_per_node) + ")");
  if (c.nics_per_node < 0 || c.nics_per_node > c.gpus_per_node)
    throw ConfigError(keys.file, keys.nics_per_node,
                      std::to_string(c.nics_per_node) + " NICs for " + std::to_string(c.gpus_per_node) +
                          " GPUs per node (allowed: 1 to the GPUs per node; one per GPU by default)");
  if (c.nic_gbps < 0) throw ConfigError(keys.file, keys.nic_gbps, "must be more than 0 Gb/s");
  if (c.oversubscription < 1)
    throw ConfigError(keys.file, keys.oversubscription, "must be at least 1 (1 = non-blocking)");
  if (c.collnet) {
    const auto& fabrics = interconnect_catalogue().fabrics;
    const auto it = fabrics.find(c.inter);
    if (it == fabrics.end() || !it->second.sharp) {
      std::vector<std::string> sharp;
      for (const auto& [id, f] : fabrics)
        if (f.sharp) sharp.push_back(id);
      throw ConfigError(keys.file, keys.collnet,
                        "CollNet needs switches that reduce in the network (SHARP), which '" + c.inter +
                            "' has not (fabrics with SHARP: " + join(sharp) + ")");
    }
  }
  const auto intra = intra_kinds();
  if (std::find(intra.begin(), intra.end(), c.intra) == intra.end())
    throw ConfigError(keys.file, keys.intra,
                      "unknown intra-node interconnect '" + c.intra + "' (allowed: " + join(intra) + ")");
  const auto inter = inter_kinds();
  if (std::find(inter.begin(), inter.end(), c.inter) == inter.end())
    throw ConfigError(keys.file, keys.inter,
                      "unknown inter-node fabric '" + c.inter + "' (allowed: " + join(inter) + ")");
  if (c.inter == "none" && c.nodes() > 1)
    throw ConfigError(keys.file, keys.inter,
                      "'none' means a single node, but " + std::to_string(c.gpus) + " GPUs at " +
                          std::to_string(c.gpus_per_node) + " per node need " + std::to_string(c.nodes()) +
                          " nodes; choose a fabric (" + join(inter_kinds()) + ")");
  if (c.intra == "nvswitch" && links.nvswitch_bytes_s <= 0)
    throw ConfigError(keys.file, keys.intra,
                      "GPU '" + gpu.id + "' has no SXM/NVSwitch form; use " +
                          (links.nvlink_bridge_bytes_s > 0 ? "nvlink-bridge or pcie" : "pcie"));
  if (c.intra == "nvlink-bridge" && links.nvlink_bridge_bytes_s <= 0)
    throw ConfigError(keys.file, keys.intra,
                      "GPU '" + gpu.id + "' has no NVLink bridge; use " +
                          (links.nvswitch_bytes_s > 0 ? "nvswitch or pcie" : "pcie"));
}

// What every part of the platform derives from the (checked) cluster and the tables.
struct Layout {
  const ClusterSpec& c;  // intra resolved
  const GpuSpec& gpu;
  const HostSpec& host;
  const InterconnectCatalogue& cat;
  const GpuLinks& links;
  const FabricSpec* fabric;  // null when inter = none
  long nodes;
  long gpn;  // GPUs per node
  bool nvswitch;
  bool bridge;
  int pcie_gen;     // cluster.pcie_gen, else the GPU's
  double gpu_pcie;  // each GPU's PCIe x16 rate
  // PCIe-attached nodes: a workstation board puts all GPUs behind one CPU; a bigger server splits them
  // between two sockets (first half on socket 0). These root complexes carry GPU-GPU traffic.
  long sockets;
  long per_socket0;
  // The host's sockets, one CPU host each, and the PCIe switch (-1: none) each local GPU sits behind.
  long cpu_sockets;
  std::vector<long> switch_of;
  long switches = 0;
  // Between nodes: `nics` NICs per node at `nic_rate` B/s each; GPU g uses NIC nic_of(g), the one on its
  // PCIe switch (DGX-style boards: GPUs 2k and 2k+1 beside NIC k when a node has half as many NICs).
  long nics;
  double nic_rate;

  Layout(const ClusterSpec& cluster, const GpuSpec& g_spec, const HostSpec& h, const GpuLinks& l,
         const FabricSpec* f)
      : c(cluster),
        gpu(g_spec),
        host(h),
        cat(interconnect_catalogue()),
        links(l),
        fabric(f),
        nodes(static_cast<long>(c.nodes())),
        gpn(static_cast<long>(c.gpus_per_node)),
        nvswitch(c.intra == "nvswitch"),
        bridge(c.intra == "nvlink-bridge"),
        pcie_gen(c.pcie_gen > 0 ? c.pcie_gen : links.pcie_gen),
        gpu_pcie(cat.pcie_rate(pcie_gen)),
        sockets((!nvswitch && gpn > cat.max_gpus_single_socket) ? 2 : 1),
        per_socket0((gpn + sockets - 1) / sockets),
        cpu_sockets(static_cast<long>(h.sockets)),
        switch_of(static_cast<size_t>(gpn), -1),
        nics(c.nics_per_node > 0 ? static_cast<long>(c.nics_per_node) : gpn),
        nic_rate(!f               ? 0.0
                 : c.nic_gbps > 0 ? c.nic_gbps * 1e9 / 8.0
                                  : f->port_bytes_s) {
    // GPUs behind one switch share a root complex: count them off within each root complex's GPUs.
    const long per_switch = static_cast<long>(h.gpus_per_pcie_switch);
    if (per_switch < 2) return;
    long previous_rc = -1, in_rc = 0;
    for (long g = 0; g < gpn; ++g) {
      if (rc_of(g) != previous_rc) {
        previous_rc = rc_of(g);
        in_rc = 0;
      }
      if (in_rc++ % per_switch == 0) ++switches;
      switch_of[static_cast<size_t>(g)] = switches - 1;
    }
  }
  long nic_of(long g) const { return g * nics / gpn; }
  // A NIC is named after the first GPU beside it: node0-gpu2-nic is the NIC GPUs 2 and 3 share.
  std::string nic_name(long n, long k) const {
    return gpu_host_name(n, (k * gpn + nics - 1) / nics) + "-nic";
  }
  long socket_of(long g) const { return g < per_socket0 ? 0L : 1L; }
  // The socket whose CPU host GPU g copies to. PCIe nodes: the one whose root complex it hangs off (the
  // last socket when the host has fewer sockets than the node has root complexes). NVSwitch nodes: the
  // GPUs split evenly, first ones on socket 0 (DGX: GPUs 0-3 on socket 0, 4-7 on socket 1).
  long cpu_socket_of(long g) const {
    if (!nvswitch) return std::min(socket_of(g), cpu_sockets - 1);
    return g / ((gpn + cpu_sockets - 1) / cpu_sockets);
  }
  // The root complex GPU g's PCIe traffic enters: PCIe nodes' own, else its CPU socket's.
  long rc_of(long g) const { return nvswitch ? cpu_socket_of(g) : socket_of(g); }
};

std::string socket_element(long n, long s, const std::string& what) {
  return "node" + std::to_string(n) + "-cpu" + std::to_string(s) + what;
}
std::string switch_uplink(long n, long k) {
  return "node" + std::to_string(n) + "-pciesw" + std::to_string(k) + "-uplink";
}

// The XML prolog and the comments naming the cluster and the sources of every figure.
void write_sources(PlatformSink& w, const Layout& l) {
  const ClusterSpec& c = l.c;
  const HostSpec& h = l.host;
  w.comment(
      "Generated by zerosim (sim/platform/platform_builder.cpp) from platforms/gpus.yaml, hosts.yaml and "
      "interconnect.yaml: gpu=" +
      l.gpu.id + " nodes=" + std::to_string(l.nodes) + " gpus_per_node=" + std::to_string(l.gpn) +
      " intra=" + c.intra + " inter=" + c.inter + " rail_optimized=" + (c.rail_optimized ? "true" : "false") +
      " host=" + h.id + " host_memory_bytes=" + std::to_string(h.memory_bytes) +
      " host_cpu_cores=" + std::to_string(h.cores()) + " pcie_gen=" + std::to_string(l.pcie_gen) +
      ". Bandwidths are physical per-direction rates, latencies one-way; run SimGrid with "
      "network/model:CM02 and network/crosstraffic:0 so they are used unscaled.");
  if (l.fabric)
    w.comment("Between nodes: " + std::to_string(l.nics) + " NIC(s) per node at " +
              format_number(l.nic_rate * 8e-9, 6) + " Gb/s, leaf oversubscription " +
              format_number(c.oversubscription, 6) + ":1");
  w.comment("Sources. GPU: " + l.gpu.source);
  w.comment("GPU links: " + l.links.source);
  w.comment("PCIe: " + l.cat.pcie_sources.at(l.pcie_gen) + "; latency " + l.cat.pcie_latency_source);
  w.comment(
      "Host " + h.id + " (" + h.name + "): " + h.source + ". CPU hosts: speed = DeepSpeedCPUAdam fp32 " +
      "elements per second per core, core = physical cores per socket; memory link = sustained bandwidth " +
      "per socket, latency " + l.cat.memory_latency_source);
  if (l.switches > 0) w.comment("PCIe switch uplinks: " + l.cat.pcie_switch_uplink_source);
  if (l.nvswitch || l.bridge) w.comment("NVLink latency: " + l.cat.nvlink_latency_source);
  w.comment("Host bridge: " + l.cat.root_complex_source);
  if (!l.nvswitch && l.sockets > 1) w.comment("Socket link: " + l.cat.socket_link_source);
  if (l.fabric)
    w.comment("Fabric " + l.fabric->id + ": " + l.fabric->source + ". " +
              l.cat.pcie_sources.at(l.fabric->nic_pcie_gen));
  if (l.fabric && c.collnet) w.comment("CollNet (SHARP): " + l.fabric->sharp_source);
}

// The one zone, with the props platform --check and the engine read back.
void open_zone(PlatformSink& w, const Layout& l) {
  const ClusterSpec& c = l.c;
  Props props = {{"intra", c.intra},
                 {"inter", c.inter},
                 {"gpus_per_node", std::to_string(l.gpn)},
                 {"nodes", std::to_string(l.nodes)},
                 {"rail_optimized", c.rail_optimized ? "true" : "false"},
                 {"gpu", l.gpu.id},
                 {"nvls", l.nvswitch && l.links.nvls ? "true" : "false"},
                 {"host", l.host.id},
                 {"host_memory_bytes", std::to_string(l.host.memory_bytes)},
                 {"pcie_gen", std::to_string(l.pcie_gen)}};
  if (l.fabric) {
    props.emplace_back("nics_per_node", std::to_string(l.nics));
    props.emplace_back("nic_gbps", format_number(l.nic_rate * 8e-9, 6));
    props.emplace_back("oversubscription", format_number(c.oversubscription, 6));
    props.emplace_back("net_efficiency", format_number(l.fabric->nccl_net_efficiency, 6));
    props.emplace_back("collnet", c.collnet ? "true" : "false");
  }
  // One GPU needs no GPU-GPU routes; its one route, to its CPU host, is explicit (Full) either way.
  const bool single = l.nodes * l.gpn == 1;
  w.open_zone("cluster", single ? "Full" : "DijkstraCache", props);
}

void write_hosts(PlatformSink& w, const Layout& l) {
  const GpuSpec& gpu = l.gpu;
  for (long n = 0; n < l.nodes; ++n)
    for (long g = 0; g < l.gpn; ++g)
      w.host(gpu_host_name(n, g), gpu.bf16_flops, 0,
             {{"gpu", gpu.id},
              {"memory_bytes", std::to_string(gpu.memory_bytes)},
              {"bf16_flops", format_number(gpu.bf16_flops, 17)},
              {"mem_bw_bytes_s", format_number(gpu.mem_bw_bytes_s, 17)},
              {"node", std::to_string(n)},
              {"local_rank", std::to_string(g)}});
}

// One CPU host per socket: SimGrid runs CPU Adam on it as an execution of one flop per element.
void write_cpu_hosts(PlatformSink& w, const Layout& l) {
  const HostSpec& h = l.host;
  for (long n = 0; n < l.nodes; ++n)
    for (long s = 0; s < l.cpu_sockets; ++s)
      w.host(cpu_host_name(n, s), h.cpu_adam_elements_per_s_per_core, static_cast<int>(h.cores_per_socket),
             {{"kind", "cpu"},
              {"node", std::to_string(n)},
              {"socket", std::to_string(s)},
              {"cores", std::to_string(h.cores_per_socket)},
              {"numa_nodes", std::to_string(h.numa_per_socket)},
              {"memory_bytes", std::to_string(h.memory_bytes / h.sockets)},
              {"mem_bw_bytes_s", format_number(h.mem_bw_bytes_s, 17)},
              {"cpu_adam_elements_per_s_per_core", format_number(h.cpu_adam_elements_per_s_per_core, 17)}});
}

// Node n's links to host memory: each socket's memory, the PCIe switch uplinks, and on an NVSwitch
// node (where no GPU-GPU traffic crosses them) the root complexes of the sockets the GPUs copy to.
void write_host_links(PlatformSink& w, const Layout& l, long n) {
  for (long s = 0; s < l.cpu_sockets; ++s)  // reads and writes share the DRAM channels: SHARED
    w.link(socket_element(n, s, "-mem"), l.host.mem_bw_bytes_s, l.cat.memory_latency_s, false);
  for (long k = 0; k < l.switches; ++k)
    w.link(switch_uplink(n, k), l.gpu_pcie, l.cat.pcie_switch_uplink_latency_s, true);
  if (!l.nvswitch) return;
  for (long s = 0; s < l.cpu_sockets; ++s) {
    long members = 0;
    for (long g = 0; g < l.gpn; ++g) members += l.rc_of(g) == s ? 1 : 0;
    if (members > 0)
      w.link(socket_element(n, s, "-rc"), static_cast<double>(members) * l.gpu_pcie,
             l.cat.root_complex_latency_s / 2.0, true);
  }
}

// Node n's links and crossbar routers: GPU ports, host memory, then the NVSwitch, or the CPUs' root
// complexes, the socket link and the NVLink bridges.
void write_node_links(PlatformSink& w, const Layout& l, long n) {
  const std::string node = "node" + std::to_string(n);
  for (long g = 0; g < l.gpn; ++g) {
    const std::string h = gpu_host_name(n, g);
    w.link(h + "-pcie", l.gpu_pcie, l.cat.pcie_link_latency_s, true);
    if (l.nvswitch) w.link(h + "-nvlink", l.links.nvswitch_bytes_s, l.cat.nvlink_port_latency_s, true);
    if (l.bridge && (g ^ 1) < l.gpn)
      w.link(h + "-nvlink", l.links.nvlink_bridge_bytes_s, l.cat.nvlink_port_latency_s, true);
  }
  write_host_links(w, l, n);
  if (l.nvswitch) {
    w.router(node + "-nvswitch");
    // Full duplex like the ports: traffic into the switch on UP, out of it on DOWN, half the hop each.
    w.link(node + "-nvswitch-xbar", static_cast<double>(l.gpn) * l.links.nvswitch_bytes_s,
           l.cat.nvswitch_latency_s / 2.0, true);
    return;
  }
  for (long s = 0; s < l.sockets; ++s) {
    const long members = s == 0 ? l.per_socket0 : l.gpn - l.per_socket0;
    w.router(node + "-cpu" + std::to_string(s));
    w.link(node + "-cpu" + std::to_string(s) + "-rc", static_cast<double>(members) * l.gpu_pcie,
           l.cat.root_complex_latency_s / 2.0, true);
  }
  if (l.sockets > 1)
    w.link(node + "-socket-link", l.cat.socket_link_bytes_s, l.cat.socket_link_latency_s, true);
  if (l.bridge)
    for (long g = 0; g + 1 < l.gpn; g += 2)
      w.link(node + "-bridge" + std::to_string(g / 2), 2.0 * l.links.nvlink_bridge_bytes_s,
             l.cat.nvlink_bridge_latency_s, false);
}

// GPU g <-> its socket's CPU host, one symmetrical edge: its x16 link, the switch uplink it shares,
// the root complex, (a PCIe node's other socket: the socket link), the socket's memory.
void write_host_route(PlatformSink& w, const Layout& l, long n, long g) {
  const std::string h = gpu_host_name(n, g);
  const long s = l.cpu_socket_of(g), rc = l.rc_of(g), k = l.switch_of[static_cast<size_t>(g)];
  std::vector<Hop> hops = {{h + "-pcie", Dir::up}};
  if (k >= 0) hops.push_back({switch_uplink(n, k), Dir::up});
  hops.push_back({socket_element(n, rc, "-rc"), Dir::up});
  // The socket link's UP half runs from socket 0 to socket 1 (write_node_routes).
  if (rc != s) hops.push_back({"node" + std::to_string(n) + "-socket-link", rc < s ? Dir::up : Dir::down});
  hops.push_back({socket_element(n, s, "-mem"), Dir::none});
  w.route(h, cpu_host_name(n, s), hops);
}

// Crossbars are vertices: GPU -> crossbar names the GPU's port (UP) and the crossbar link, crossbar ->
// GPU only the port (DOWN), so a GPU-GPU path is port + crossbar + port, each link once, with 2 edges
// per GPU instead of a full mesh (Dijkstra's cost grows with the edge count).
void write_node_routes(PlatformSink& w, const Layout& l, long n) {
  const std::string node = "node" + std::to_string(n);
  for (long g = 0; g < l.gpn; ++g) {
    const std::string h = gpu_host_name(n, g);
    write_host_route(w, l, n, g);
    if (l.nvswitch) {
      const std::string sw = node + "-nvswitch";
      w.route(h, sw, {{h + "-nvlink", Dir::up}, {sw + "-xbar", Dir::up}}, false);
      w.route(sw, h, {{sw + "-xbar", Dir::down}, {h + "-nvlink", Dir::down}}, false);
      continue;
    }
    const std::string rc = node + "-cpu" + std::to_string(l.socket_of(g));
    w.route(h, rc, {{h + "-pcie", Dir::up}, {rc + "-rc", Dir::up}}, false);
    w.route(rc, h, {{rc + "-rc", Dir::down}, {h + "-pcie", Dir::down}}, false);
    if (l.bridge && (g % 2) == 0 && g + 1 < l.gpn) {
      const std::string peer = gpu_host_name(n, g + 1);
      w.route(h, peer,
              {{h + "-nvlink", Dir::up},
               {node + "-bridge" + std::to_string(g / 2), Dir::none},
               {peer + "-nvlink", Dir::down}});
    }
  }
  if (!l.nvswitch && l.sockets > 1)
    w.route(node + "-cpu0", node + "-cpu1", {{node + "-socket-link", Dir::up}});
}

// Which leaf switch each NIC plugs into. Rail-optimised: NIC g of every node on rail g's leaf (a leaf
// per rail per `half` nodes). Otherwise all NICs of a node on one leaf, as many whole nodes per leaf as
// its down ports hold.
struct LeafPlan {
  bool rail_optimized;
  long down;  // NIC ports per leaf
  long nodes_per_leaf;
  std::vector<std::string> leaves;  // every leaf, in the order the XML declares them

  explicit LeafPlan(const Layout& l) : rail_optimized(l.c.rail_optimized) {
    const long half = std::max(1, l.fabric->switch_ports / 2);
    down = rail_optimized ? half : std::max(half, l.nics);
    nodes_per_leaf = rail_optimized ? down : std::max(1L, down / l.nics);
    const long groups = (l.nodes + nodes_per_leaf - 1) / nodes_per_leaf;
    for (long grp = 0; grp < groups; ++grp)
      for (long k = 0; k < (rail_optimized ? l.nics : 1); ++k)
        leaves.push_back(leaf_of(grp * nodes_per_leaf, k));
  }
  // The leaf NIC k of node n plugs into (rail k's when rail-optimised).
  std::string leaf_of(long n, long k) const {
    return rail_optimized ? "rail" + std::to_string(k) + "-leaf" + std::to_string(n / nodes_per_leaf)
                          : "leaf" + std::to_string(n / nodes_per_leaf);
  }
};

// Between nodes: each node's NICs, shared by the GPUs nearest them, into a two-level fat tree (a spine
// only when there are two leaves). A GPU's path to its leaf: its own x16 link, its NIC's x16 link and
// the NIC's port, so GPUs that share a NIC share its PCIe link and port.
void write_fabric(PlatformSink& w, const Layout& l) {
  const FabricSpec& fab = *l.fabric;
  const double nic_pcie = std::min(l.gpu_pcie, l.cat.pcie_rate(fab.nic_pcie_gen));
  const LeafPlan plan(l);
  for (const auto& leaf : plan.leaves) w.router(leaf);
  const bool spine = plan.leaves.size() > 1;
  if (spine) w.router("spine");

  for (long n = 0; n < l.nodes; ++n) {
    for (long k = 0; k < l.nics; ++k) {
      const std::string nic = l.nic_name(n, k);
      w.link(nic + "-pcie", nic_pcie, 0.0, true);  // NIC's PCIe latency is inside nic_latency
      // The leaf's port-to-port latency is split over the two NIC cables a same-leaf path crosses.
      w.link(nic, l.nic_rate, fab.nic_latency_s + fab.switch_latency_s / 2.0, true);
    }
    for (long g = 0; g < l.gpn; ++g) {
      const std::string h = gpu_host_name(n, g), nic = l.nic_name(n, l.nic_of(g));
      w.route(h, plan.leaf_of(n, l.nic_of(g)),
              {{h + "-pcie", Dir::up}, {nic + "-pcie", Dir::up}, {nic, Dir::up}});
    }
  }
  if (!spine) return;
  for (const auto& leaf : plan.leaves) {
    // The uplinks carry what the down ports can, divided by the oversubscription (1: non-blocking).
    // Latency: the leaf-spine-leaf path crosses two trunks and two more switches than a same-leaf path.
    w.link(leaf + "-uplink", static_cast<double>(plan.down) * l.nic_rate / l.c.oversubscription,
           fab.switch_latency_s, true);
    w.route(leaf, "spine", {{leaf + "-uplink", Dir::up}});
  }
}

}  // namespace

std::string resolve_intra(const std::string& intra, const std::string& gpu_id) {
  if (intra != "auto") return intra;
  return default_intra(interconnect_catalogue().gpu_links(gpu_id));
}

int resolve_pcie_gen(int pcie_gen, const std::string& gpu_id) {
  if (pcie_gen > 0) return pcie_gen;
  const auto& gpus = interconnect_catalogue().gpus;
  const auto it = gpus.find(gpu_id);
  return it == gpus.end() ? 4 : it->second.pcie_gen;
}

std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys) {
  return build_platform_xml(cluster, gpu,
                            resolve_host(cluster, gpu, keys.file, keys.host, keys.host_cpu_cores), keys);
}

std::vector<std::string> rank_cpu_host_names(const ClusterSpec& cluster, const GpuSpec& gpu,
                                             const HostSpec& host) {
  const GpuLinks& links = interconnect_catalogue().gpu_links(gpu.id);
  const ClusterSpec c = with_intra_resolved(cluster, links);
  const Layout layout(c, gpu, host, links, nullptr);
  std::vector<std::string> out;
  for (int64_t r = 0; r < c.gpus; ++r)
    out.push_back(cpu_host_name(static_cast<long>(r / c.gpus_per_node),
                                layout.cpu_socket_of(static_cast<long>(r % c.gpus_per_node))));
  return out;
}

namespace {
// The cluster checked (the ConfigErrors build_platform_xml documents), with intra resolved.
ClusterSpec checked_cluster(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys) {
  const InterconnectCatalogue& cat = interconnect_catalogue();
  const GpuLinks& links = cat.gpu_links(gpu.id, keys.file, keys.gpu);
  const ClusterSpec c = with_intra_resolved(cluster, links);
  check_cluster(c, gpu, links, keys);
  if (c.inter != "none") cat.fabric(c.inter, keys.file, keys.inter);
  return c;
}
}  // namespace

void check_generated_cluster(const ClusterSpec& cluster, const GpuSpec& gpu, const ClusterKeys& keys) {
  checked_cluster(cluster, gpu, keys);
}

void generate_platform(const ClusterSpec& cluster, const GpuSpec& gpu, const HostSpec& host, PlatformSink& w,
                       const ClusterKeys& keys) {
  const ClusterSpec c = checked_cluster(cluster, gpu, keys);
  const InterconnectCatalogue& cat = interconnect_catalogue();
  const Layout layout(c, gpu, host, cat.gpu_links(gpu.id),
                      c.inter == "none" ? nullptr : &cat.fabric(c.inter));
  write_sources(w, layout);
  open_zone(w, layout);
  write_hosts(w, layout);
  write_cpu_hosts(w, layout);
  for (long n = 0; n < layout.nodes; ++n) {
    write_node_links(w, layout, n);
    write_node_routes(w, layout, n);
  }
  if (layout.fabric) write_fabric(w, layout);
}

std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu, const HostSpec& host,
                               const ClusterKeys& keys) {
  PlatformXmlWriter w;
  w.declaration();
  generate_platform(cluster, gpu, host, w, keys);
  return w.finish();
}

}  // namespace zerosim
