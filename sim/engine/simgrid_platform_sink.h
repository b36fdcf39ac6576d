#pragma once
// Builds a generated platform in SimGrid's memory instead of an XML file: the same hosts, links and
// routers, from the same text SimGrid would have parsed (so every rate is the same double), under a
// ShortestPathZone instead of DijkstraCache (shortest_path_zone.h says why). Routes are applied by
// finish(), after every element, in the order the XML file lists them. What the XML parser does beyond
// this — firing on_platform_created, whose EngineImpl::presolve replays availability and speed profiles
// due at time 0 — has nothing to act on: a generated platform has no profiles.
#include <string>
#include <vector>

#include "sim/platform/platform_sink.h"

namespace zerosim {

class ShortestPathZone;

class SimgridPlatformSink : public PlatformSink {
 public:
  void comment(const std::string& /*text*/) override {}
  void open_zone(const std::string& id, const std::string& routing, const Props& props) override;
  void host(const std::string& id, double flops, int cores, const Props& props) override;
  void link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) override;
  void router(const std::string& id) override;
  void route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
             bool symmetrical = true) override;
  void finish();

 private:
  struct PendingRoute {
    std::string src, dst;
    std::vector<Hop> hops;
    bool symmetrical;
  };
  ShortestPathZone* zone_ = nullptr;  // owned by SimGrid's engine (the root zone)
  std::vector<PendingRoute> routes_;
};

}  // namespace zerosim
