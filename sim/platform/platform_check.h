#pragma once
// Checks a user's SimGrid platform XML before SimGrid sees it. SimGrid aborts the process on a
// malformed platform; zerosim instead reports a ConfigError (exit 2) naming the file and what is wrong:
// missing/unreadable file, not well-formed XML, wrong root or DTD version, unknown ids in routes, bad
// units, no GPU hosts, GPU hosts without usable properties, GPU hosts that cannot reach each other
// (routes are directed: symmetrical="NO" goes one way), fewer GPU hosts than the run asks for; and the
// route tables SimGrid 3.32 aborts, segfaults or loops on (a route declared twice, also through a
// symmetrical route's reverse; an empty route; a <route> naming a zone or another zone's host; a
// <zoneRoute> whose gateways are not inside its zones; routes in Cluster or None zones; zone routings
// other than Full, Floyd, Dijkstra, DijkstraCache, Cluster and None).
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/gpu_catalogue.h"

namespace zerosim {

// One GPU host as the engine needs it: its SimGrid name and the GPU it models.
struct PlatformGpuHost {
  std::string host;   // SimGrid host id
  GpuSpec gpu;        // from the host's props, completed from the catalogue when `gpu` names an entry
  int64_t node = -1;  // `node` prop (-1 when absent)
  int64_t local_rank = -1;
};

struct PlatformInfo {
  std::string file;
  std::vector<PlatformGpuHost> gpu_hosts;  // rank order: by (node, local_rank) when every host has them,
                                           // otherwise document order
  int64_t hosts = 0;                       // every <host> (and cluster member), GPU or not
  std::string intra, inter;                // zone props; empty when the file does not say
  int64_t gpus_per_node = 0;               // zone prop; 0 when the file does not say
  bool nvls = false;                       // zone prop nvls="true": NVSwitch with NVLink SHARP
};

// `requested_gpus` > 0 also checks that the platform has at least that many GPU hosts.
PlatformInfo check_platform_file(const std::string& path, int64_t requested_gpus = 0);
// Same checks on XML text already in memory (`origin` names it in messages).
PlatformInfo check_platform_xml(const std::string& xml, const std::string& origin,
                                int64_t requested_gpus = 0);

// The first `requested_gpus` GPU hosts of a checked platform file, in rank order (all when 0).
std::vector<std::string> gpu_hosts(const std::string& path, int64_t requested_gpus = 0);

}  // namespace zerosim
