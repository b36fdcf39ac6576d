#include "sim/engine/platform_probe.h"

#include <algorithm>
#include <chrono>
#include <simgrid/s4u.hpp>

#include "sim/engine/simgrid_engine.h"
#include "workloads/config_error.h"

namespace zerosim {
namespace {

namespace s4u = simgrid::s4u;
using Clock = std::chrono::steady_clock;

s4u::Host* host_named(const s4u::Engine& e, const std::string& name, const std::string& file) {
  s4u::Host* h = e.host_by_name_or_null(name);
  if (!h) throw ConfigError(file, "host", "no host named '" + name + "' in the platform");
  return h;
}

nlohmann::json describe_route(const s4u::Host* a, const s4u::Host* b) {
  std::vector<s4u::Link*> links;
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

// The routes a ring collective over every GPU (rank order) uses: resolving them exercises the routing
// of the whole platform.
nlohmann::json resolve_ring(const s4u::Engine& engine, const PlatformProbe& probe) {
  const auto t0 = Clock::now();
  size_t hops = 0;
  double max_latency = 0;
  const size_t n = probe.rank_hosts.size();
  for (size_t i = 0; i < n; ++i) {
    std::vector<s4u::Link*> links;
    double latency = 0;
    host_named(engine, probe.rank_hosts[i], probe.file)
        ->route_to(host_named(engine, probe.rank_hosts[(i + 1) % n], probe.file), links, &latency);
    hops += links.size();
    max_latency = std::max(max_latency, latency);
  }
  return {{"routes", n},
          {"links", hops},
          {"max_latency_s", max_latency},
          {"resolve_s", std::chrono::duration<double>(Clock::now() - t0).count()}};
}

// All flows start at time 0; each actor records when its transfer completes.
nlohmann::json time_flows(s4u::Engine& engine, const PlatformProbe& probe) {
  std::vector<double> finish(probe.flows.size(), -1.0);
  for (size_t i = 0; i < probe.flows.size(); ++i) {
    s4u::Host* src = host_named(engine, probe.flows[i].src, probe.file);
    s4u::Host* dst = host_named(engine, probe.flows[i].dst, probe.file);
    const auto bytes = static_cast<uint64_t>(probe.flows[i].bytes);
    s4u::Actor::create("flow" + std::to_string(i), src, [src, dst, bytes, &finish, i] {
      s4u::Comm::sendto(src, dst, bytes);
      finish[i] = s4u::Engine::get_clock();
    });
  }
  engine.run();
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < probe.flows.size(); ++i) {
    const ProbeFlow& f = probe.flows[i];
    out.push_back({{"src", f.src}, {"dst", f.dst}, {"bytes", f.bytes}, {"finish_s", finish[i]}});
  }
  return out;
}

}  // namespace

nlohmann::json probe_platform(const PlatformProbe& probe) {
  const auto t0 = Clock::now();
  const auto engine =
      probe.generate ? start_simgrid_engine(probe.generate) : start_simgrid_engine(probe.file);
  nlohmann::json out;
  out["hosts"] = engine->get_host_count();
  out["load_s"] = std::chrono::duration<double>(Clock::now() - t0).count();
  if (probe.ring) out["ring"] = resolve_ring(*engine, probe);
  out["routes"] = nlohmann::json::array();
  for (const auto& [a, b] : probe.routes)
    out["routes"].push_back(
        describe_route(host_named(*engine, a, probe.file), host_named(*engine, b, probe.file)));
  if (!probe.flows.empty()) out["flows"] = time_flows(*engine, probe);
  return out;
}

}  // namespace zerosim
