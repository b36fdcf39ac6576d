#include "sim/platform/platform_builder.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

#include "sim/platform/interconnect_catalogue.h"
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
// All of them are physical links. With these counts the intended path is the unique shortest one:
// intra-node (3 to 5) beats leaving through the NICs (3 + 3 = 6); a bridged pair (3) uses its bridge,
// not PCIe (4); a cross-rail inter-node path through the spine (3 + 1 + 1 + 3 = 8) beats hopping to a
// GPU on the destination's rail first (at least 3 + 3 + 3 = 9), so no route transits another GPU.
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

namespace {

std::string num(double v, int digits = 15) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}
std::string bandwidth(double bytes_s) { return num(bytes_s / 1e9, 12) + "GBps"; }
std::string latency(double s) { return num(s * 1e6, 9) + "us"; }

// XML comments may not contain "--"; source notes are prose, so a dash pair becomes one dash.
std::string comment_safe(std::string text) {
  for (size_t p; (p = text.find("--")) != std::string::npos;) text.erase(p, 1);
  return text;
}

enum class Dir { up, down, none };  // none: SHARED links have no halves
struct Hop {
  std::string link;
  Dir dir;
};

class PlatformWriter {
 public:
  void comment(const std::string& text) { out_ << "<!-- " << comment_safe(text) << " -->\n"; }
  void raw(const std::string& text) { out_ << text; }
  void prop(const std::string& id, const std::string& value, const char* indent = "    ") {
    out_ << indent << "<prop id=\"" << id << "\" value=\"" << value << "\"/>\n";
  }
  void link(const std::string& id, double bytes_s, double lat_s, bool split_duplex) {
    out_ << "    <link id=\"" << id << "\" bandwidth=\"" << bandwidth(bytes_s) << "\" latency=\""
         << latency(lat_s) << "\" sharing_policy=\"" << (split_duplex ? "SPLITDUPLEX" : "SHARED") << "\"/>\n";
  }
  void router(const std::string& id) { out_ << "    <router id=\"" << id << "\"/>\n"; }
  // Routes are written after every host, router and link (the DTD's order inside a zone).
  void route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
             bool symmetrical = true) {
    routes_ << "    <route src=\"" << src << "\" dst=\"" << dst << "\""
            << (symmetrical ? "" : " symmetrical=\"NO\"") << ">";
    for (const auto& h : hops)
      routes_ << "<link_ctn id=\"" << h.link << "\""
              << (h.dir == Dir::up     ? " direction=\"UP\""
                  : h.dir == Dir::down ? " direction=\"DOWN\""
                                       : "")
              << "/>";
    routes_ << "</route>\n";
  }
  std::string finish() {
    out_ << routes_.str();
    out_ << "  </zone>\n</platform>\n";
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::ostringstream routes_;
};

void check_cluster(const ClusterSpec& c, const GpuSpec& gpu, const GpuLinks& links) {
  if (c.gpus < 1)
    throw ConfigError("", "cluster.gpus", "must be at least 1 (got " + std::to_string(c.gpus) + ")");
  if (c.gpus_per_node < 1)
    throw ConfigError("", "cluster.gpus_per_node",
                      "must be at least 1 (got " + std::to_string(c.gpus_per_node) + ")");
  const auto intra = intra_kinds();
  if (std::find(intra.begin(), intra.end(), c.intra) == intra.end())
    throw ConfigError("", "cluster.intra",
                      "unknown intra-node interconnect '" + c.intra + "' (allowed: " + join(intra) + ")");
  const auto inter = inter_kinds();
  if (std::find(inter.begin(), inter.end(), c.inter) == inter.end())
    throw ConfigError("", "cluster.inter",
                      "unknown inter-node fabric '" + c.inter + "' (allowed: " + join(inter) + ")");
  if (c.inter == "none" && c.nodes() > 1)
    throw ConfigError("", "cluster.inter",
                      "'none' means a single node, but " + std::to_string(c.gpus) + " GPUs at " +
                          std::to_string(c.gpus_per_node) + " per node need " + std::to_string(c.nodes()) +
                          " nodes; choose a fabric (" + join(inter_kinds()) + ")");
  if (c.intra == "nvswitch" && links.nvswitch_bytes_s <= 0)
    throw ConfigError("", "cluster.intra",
                      "GPU '" + gpu.id + "' has no SXM/NVSwitch form; use " +
                          (links.nvlink_bridge_bytes_s > 0 ? "nvlink-bridge or pcie" : "pcie"));
  if (c.intra == "nvlink-bridge" && links.nvlink_bridge_bytes_s <= 0)
    throw ConfigError("", "cluster.intra",
                      "GPU '" + gpu.id + "' has no NVLink bridge; use " +
                          (links.nvswitch_bytes_s > 0 ? "nvswitch or pcie" : "pcie"));
}

}  // namespace

std::string resolve_intra(const std::string& intra, const std::string& gpu_id) {
  if (intra != "auto") return intra;
  return interconnect_catalogue().gpu_links(gpu_id).nvswitch_bytes_s > 0 ? "nvswitch" : "pcie";
}

std::string build_platform_xml(const ClusterSpec& cluster, const GpuSpec& gpu) {
  ClusterSpec c = cluster;
  c.intra = resolve_intra(cluster.intra, gpu.id);
  const InterconnectCatalogue& cat = interconnect_catalogue();
  const GpuLinks& gl = cat.gpu_links(gpu.id);
  check_cluster(c, gpu, gl);

  const long nodes = static_cast<long>(c.nodes());
  const long gpn = static_cast<long>(c.gpus_per_node);
  const bool nvswitch = c.intra == "nvswitch";
  const bool bridge = c.intra == "nvlink-bridge";
  const bool fabric = c.inter != "none";
  const double gpu_pcie = cat.pcie_rate(gl.pcie_gen);
  // PCIe-attached nodes: a workstation board puts all GPUs behind one CPU; a bigger server splits them
  // between two sockets (first half on socket 0).
  const long sockets = (!nvswitch && gpn > cat.max_gpus_single_socket) ? 2 : 1;
  const long per_socket0 = (gpn + sockets - 1) / sockets;
  auto socket_of = [&](long g) { return g < per_socket0 ? 0L : 1L; };

  PlatformWriter w;
  w.raw("<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n");
  w.comment(
      "Generated by zerosim (sim/platform_builder.cpp) from platforms/gpus.yaml and "
      "platforms/interconnect.yaml: gpu=" +
      gpu.id + " nodes=" + std::to_string(nodes) + " gpus_per_node=" + std::to_string(gpn) +
      " intra=" + c.intra + " inter=" + c.inter + " rail_optimized=" + (c.rail_optimized ? "true" : "false") +
      ". Bandwidths are physical per-direction rates, latencies one-way; run SimGrid with "
      "network/model:CM02 and network/crosstraffic:0 so they are used unscaled.");
  w.comment("Sources. GPU: " + gpu.source);
  w.comment("GPU links: " + gl.source);
  w.comment("PCIe: " + cat.pcie_sources.at(gl.pcie_gen) + "; latency " + cat.pcie_latency_source);
  if (nvswitch || bridge) w.comment("NVLink latency: " + cat.nvlink_latency_source);
  if (!nvswitch) w.comment("Host bridge: " + cat.root_complex_source);
  if (!nvswitch && sockets > 1) w.comment("Socket link: " + cat.socket_link_source);
  const FabricSpec* fab = fabric ? &cat.fabric(c.inter) : nullptr;
  if (fab)
    w.comment("Fabric " + fab->id + ": " + fab->source + ". " + cat.pcie_sources.at(fab->nic_pcie_gen));

  w.raw("<platform version=\"4.1\">\n");
  // One host needs no routes; DijkstraCache would have no graph vertex for it.
  const bool single = nodes * gpn == 1;
  w.raw(std::string("  <zone id=\"cluster\" routing=\"") + (single ? "Full" : "DijkstraCache") + "\">\n");
  w.prop("intra", c.intra);
  w.prop("inter", c.inter);
  w.prop("gpus_per_node", std::to_string(gpn));
  w.prop("nodes", std::to_string(nodes));
  w.prop("rail_optimized", c.rail_optimized ? "true" : "false");
  w.prop("gpu", gpu.id);
  w.prop("nvls", nvswitch && gl.nvls ? "true" : "false");

  for (long n = 0; n < nodes; ++n)
    for (long g = 0; g < gpn; ++g) {
      w.raw("    <host id=\"" + gpu_host_name(n, g) + "\" speed=\"" + num(gpu.bf16_flops, 17) + "f\">\n");
      w.prop("gpu", gpu.id, "      ");
      w.prop("memory_bytes", std::to_string(gpu.memory_bytes), "      ");
      w.prop("bf16_flops", num(gpu.bf16_flops, 17), "      ");
      w.prop("mem_bw_bytes_s", num(gpu.mem_bw_bytes_s, 17), "      ");
      w.prop("node", std::to_string(n), "      ");
      w.prop("local_rank", std::to_string(g), "      ");
      w.raw("    </host>\n");
    }

  // ---- inside each node ----
  for (long n = 0; n < nodes; ++n) {
    const std::string node = "node" + std::to_string(n);
    for (long g = 0; g < gpn; ++g) {
      const std::string h = gpu_host_name(n, g);
      w.link(h + "-pcie", gpu_pcie, cat.pcie_link_latency_s, true);
      if (nvswitch) w.link(h + "-nvlink", gl.nvswitch_bytes_s, cat.nvlink_port_latency_s, true);
      if (bridge && (g ^ 1) < gpn)
        w.link(h + "-nvlink", gl.nvlink_bridge_bytes_s, cat.nvlink_port_latency_s, true);
    }
    if (nvswitch) {
      w.router(node + "-nvswitch");
      // Full duplex like the ports: traffic into the switch on UP, out of it on DOWN, half the hop each.
      w.link(node + "-nvswitch-xbar", static_cast<double>(gpn) * gl.nvswitch_bytes_s,
             cat.nvswitch_latency_s / 2.0, true);
    } else {
      for (long s = 0; s < sockets; ++s) {
        const long members = s == 0 ? per_socket0 : gpn - per_socket0;
        w.router(node + "-cpu" + std::to_string(s));
        w.link(node + "-cpu" + std::to_string(s) + "-rc", static_cast<double>(members) * gpu_pcie,
               cat.root_complex_latency_s / 2.0, true);
      }
      if (sockets > 1)
        w.link(node + "-socket-link", cat.socket_link_bytes_s, cat.socket_link_latency_s, true);
      if (bridge)
        for (long g = 0; g + 1 < gpn; g += 2)
          w.link(node + "-bridge" + std::to_string(g / 2), 2.0 * gl.nvlink_bridge_bytes_s,
                 cat.nvlink_bridge_latency_s, false);
    }

    // Crossbars are vertices: GPU -> crossbar names the GPU's port (UP) and the crossbar link, crossbar
    // -> GPU only the port (DOWN), so a GPU-GPU path is port + crossbar + port, each link once, with
    // 2 edges per GPU instead of a full mesh (Dijkstra's cost grows with the edge count).
    for (long g = 0; g < gpn; ++g) {
      const std::string h = gpu_host_name(n, g);
      if (nvswitch) {
        const std::string sw = node + "-nvswitch";
        w.route(h, sw, {{h + "-nvlink", Dir::up}, {sw + "-xbar", Dir::up}}, false);
        w.route(sw, h, {{sw + "-xbar", Dir::down}, {h + "-nvlink", Dir::down}}, false);
      } else {
        const std::string rc = node + "-cpu" + std::to_string(socket_of(g));
        w.route(h, rc, {{h + "-pcie", Dir::up}, {rc + "-rc", Dir::up}}, false);
        w.route(rc, h, {{rc + "-rc", Dir::down}, {h + "-pcie", Dir::down}}, false);
        if (bridge && (g % 2) == 0 && g + 1 < gpn) {
          const std::string peer = gpu_host_name(n, g + 1);
          w.route(h, peer,
                  {{h + "-nvlink", Dir::up},
                   {node + "-bridge" + std::to_string(g / 2), Dir::none},
                   {peer + "-nvlink", Dir::down}});
        }
      }
    }
    if (!nvswitch && sockets > 1) w.route(node + "-cpu0", node + "-cpu1", {{node + "-socket-link", Dir::up}});
  }

  // ---- between nodes: one NIC per GPU into a two-level fat tree ----
  if (fab) {
    const double nic_pcie = std::min(gpu_pcie, cat.pcie_rate(fab->nic_pcie_gen));
    const long half = std::max(1, fab->switch_ports / 2);
    // Rail-optimised: NIC g of every node on rail g's leaf (a leaf per rail per `half` nodes).
    // Otherwise all NICs of a node on one leaf, as many whole nodes per leaf as its down ports hold.
    const long down = c.rail_optimized ? half : std::max(half, gpn);
    const long nodes_per_leaf = c.rail_optimized ? down : std::max(1L, down / gpn);
    const long groups = (nodes + nodes_per_leaf - 1) / nodes_per_leaf;
    auto leaf_of = [&](long n, long g) {
      return c.rail_optimized ? "rail" + std::to_string(g) + "-leaf" + std::to_string(n / nodes_per_leaf)
                              : "leaf" + std::to_string(n / nodes_per_leaf);
    };
    std::vector<std::string> leaves;
    for (long grp = 0; grp < groups; ++grp) {
      if (c.rail_optimized)
        for (long g = 0; g < gpn; ++g) leaves.push_back(leaf_of(grp * nodes_per_leaf, g));
      else
        leaves.push_back(leaf_of(grp * nodes_per_leaf, 0));
    }
    for (const auto& l : leaves) w.router(l);
    const bool spine = leaves.size() > 1;
    if (spine) w.router("spine");

    for (long n = 0; n < nodes; ++n)
      for (long g = 0; g < gpn; ++g) {
        const std::string h = gpu_host_name(n, g);
        w.link(h + "-nic-pcie", nic_pcie, 0.0, true);  // NIC's PCIe latency is inside nic_latency
        // The leaf's port-to-port latency is split over the two NIC cables a same-leaf path crosses.
        w.link(h + "-nic", fab->port_bytes_s, fab->nic_latency_s + fab->switch_latency_s / 2.0, true);
        w.route(h, leaf_of(n, g),
                {{h + "-pcie", Dir::up}, {h + "-nic-pcie", Dir::up}, {h + "-nic", Dir::up}});
      }
    if (spine)
      for (const auto& l : leaves) {
        // Non-blocking: the uplinks carry what the down ports can. Latency: the leaf-spine-leaf path
        // crosses two trunks and two more switches than a same-leaf path.
        w.link(l + "-uplink", static_cast<double>(down) * fab->port_bytes_s, fab->switch_latency_s, true);
        w.route(l, "spine", {{l + "-uplink", Dir::up}});
      }
  }
  return w.finish();
}

}  // namespace zerosim
