#pragma once
// The SimGrid half of `zerosim platform --check`: load a platform as the engine will, then resolve
// routes and time flows on it. The pugixml half (what the file declares) is sim/platform/platform_check.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "sim/platform/platform_sink.h"

namespace zerosim {

struct ProbeFlow {
  std::string src, dst;
  int64_t bytes = 0;
};

struct PlatformProbe {
  std::string file;
  // Set: probe this generated platform as the engine builds it in memory (`file` then only names it).
  std::function<void(PlatformSink&)> generate;
  std::vector<std::string> rank_hosts;  // GPU hosts in rank order (from check_platform_file)
  bool ring = false;                    // resolve the route of every ring neighbour pair
  std::vector<std::pair<std::string, std::string>> routes;
  std::vector<ProbeFlow> flows;  // started together at time 0
};

// JSON keys: hosts, load_s, ring {routes, links, max_latency_s, resolve_s}, routes [{src, dst, links,
// hops, latency_s, bandwidth_bytes_s}], flows [{src, dst, bytes, finish_s}] (only when requested).
// A host the platform lacks is a ConfigError naming the file.
nlohmann::json probe_platform(const PlatformProbe& probe);

}  // namespace zerosim
