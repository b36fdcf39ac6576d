#include "sim/engine/simgrid_platform_sink.h"

#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <unordered_map>

#include "sim/engine/shortest_path_zone.h"
#include "sim/platform/platform_xml_writer.h"

namespace zerosim {

namespace s4u = simgrid::s4u;

namespace {

std::unordered_map<std::string, std::string> property_map(const Props& props) {
  return {props.begin(), props.end()};
}

s4u::LinkInRoute::Direction direction(LinkDirection dir) {
  switch (dir) {
    case LinkDirection::up:
      return s4u::LinkInRoute::Direction::UP;
    case LinkDirection::down:
      return s4u::LinkInRoute::Direction::DOWN;
    case LinkDirection::none:
      break;
  }
  return s4u::LinkInRoute::Direction::NONE;
}

}  // namespace

// `routing` is what an XML file would declare; in memory every generated platform routes itself.
void SimgridPlatformSink::open_zone(const std::string& id, const std::string& /*routing*/,
                                    const Props& props) {
  if (zone_) throw std::logic_error("a generated platform has one zone");
  zone_ = new ShortestPathZone(id);  // the first zone becomes SimGrid's root, which owns and frees it
  for (const auto& [key, value] : props) zone_->set_property(key, value);
}

void SimgridPlatformSink::host(const std::string& id, double flops, int cores, const Props& props) {
  zone_->get_iface()
      ->create_host(id, simgrid_speed(flops))
      ->set_core_count(cores > 0 ? cores : 1)
      ->set_properties(property_map(props))
      ->seal();
}

void SimgridPlatformSink::link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) {
  s4u::Link* link = split_duplex
                        ? zone_->get_iface()->create_split_duplex_link(id, simgrid_bandwidth(bytes_s))
                        : zone_->get_iface()->create_link(id, simgrid_bandwidth(bytes_s));
  link->set_latency(simgrid_latency(latency_s))->seal();
}

void SimgridPlatformSink::router(const std::string& id) { zone_->get_iface()->create_router(id); }

void SimgridPlatformSink::route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
                                bool symmetrical) {
  routes_.push_back({src, dst, hops, symmetrical});
}

void SimgridPlatformSink::finish() {
  const auto* engine = s4u::Engine::get_instance();
  for (const auto& r : routes_) {
    std::vector<s4u::LinkInRoute> links;
    for (const auto& hop : r.hops) {
      // A split-duplex link (a direction) is known by its own name; its halves are X_UP and X_DOWN.
      s4u::Link* link = hop.dir == LinkDirection::none ? s4u::Link::by_name(hop.link)
                                                       : s4u::SplitDuplexLink::by_name(hop.link);
      links.emplace_back(link, direction(hop.dir));
    }
    zone_->add_route(engine->netpoint_by_name(r.src), engine->netpoint_by_name(r.dst), nullptr, nullptr,
                     links, r.symmetrical);
  }
  routes_.clear();
}

}  // namespace zerosim
