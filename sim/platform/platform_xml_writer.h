#pragma once
// SimGrid platform XML (DTD 4.1) syntax for the platform generator: elements with the units and
// number formats the generated files use. Routes are buffered and written after every host, router
// and link, the order the DTD requires inside a zone.
#include <sstream>
#include <string>
#include <vector>

#include "sim/platform/platform_sink.h"

namespace zerosim {

// `v` with up to `digits` significant digits (printf %g): the text every generated number uses.
std::string format_number(double v, int digits = 15);
// The text of a bandwidth (GBps, 12 digits), a latency (us, 9 digits) and a speed (f, 17 digits) as the
// generated files write them; the SimGrid sink hands SimGrid the same text, so both parse to one double.
std::string simgrid_bandwidth(double bytes_s);
std::string simgrid_latency(double s);
std::string simgrid_speed(double flops);

class PlatformXmlWriter : public PlatformSink {
 public:
  // The XML declaration and the DOCTYPE: the comments that follow name the sources.
  void declaration();
  void comment(const std::string& text) override;  // a "--" in the text becomes "-" (XML comments forbid it)
  void open_zone(const std::string& id, const std::string& routing, const Props& props) override;
  void host(const std::string& id, double flops, int cores, const Props& props) override;
  // Bandwidth in GBps and latency in us; SPLITDUPLEX when full duplex, else SHARED.
  void link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) override;
  void router(const std::string& id) override;
  void route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
             bool symmetrical = true) override;
  // The document so far, the buffered routes, and the closing tags of the zone and the platform.
  std::string finish();

 private:
  void prop(const std::string& id, const std::string& value, const char* indent);

  std::ostringstream out_;
  std::ostringstream routes_;
};

}  // namespace zerosim
