#pragma once
// What the platform generator emits, element by element, in the order SimGrid's XML has them: the XML
// writer (platform_xml_writer.h) turns it into a file; the engine's SimGrid sink (sim/engine/
// simgrid_platform_sink.h) builds the same hosts, links and routes in memory, under a zone that routes
// them itself (docs/architecture.md, "Generated platforms"). Rates are in bytes/s and flop/s, times in s.
#include <string>
#include <utility>
#include <vector>

namespace zerosim {

enum class LinkDirection { up, down, none };  // none: SHARED links have no halves
struct Hop {
  std::string link;
  LinkDirection dir;
};

using Props = std::vector<std::pair<std::string, std::string>>;

class PlatformSink {
 public:
  virtual ~PlatformSink() = default;
  // Where the figures come from: XML comments; nothing SimGrid reads.
  virtual void comment(const std::string& text) = 0;
  // The one zone every element lives in; `routing` is what a SimGrid XML file declares for it.
  virtual void open_zone(const std::string& id, const std::string& routing, const Props& props) = 0;
  // `cores` 0: the attribute left out (one core).
  virtual void host(const std::string& id, double flops, int cores, const Props& props) = 0;
  // SPLITDUPLEX when full duplex, else SHARED.
  virtual void link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) = 0;
  virtual void router(const std::string& id) = 0;
  // An edge between adjacent elements; symmetrical: the reverse edge too, its hops reversed, UP <-> DOWN.
  virtual void route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
                     bool symmetrical = true) = 0;
};

}  // namespace zerosim
