#pragma once
// SimGrid platform XML (DTD 4.1) syntax for the platform generator: elements with the units and
// number formats the generated files use. Routes are buffered and written after every host, router
// and link, the order the DTD requires inside a zone.
#include <sstream>
#include <string>
#include <vector>

namespace zerosim {

// `v` with up to `digits` significant digits (printf %g): the text every generated number uses.
std::string format_number(double v, int digits = 15);

enum class LinkDirection { up, down, none };  // none: SHARED links have no halves
struct Hop {
  std::string link;
  LinkDirection dir;
};

class PlatformXmlWriter {
 public:
  void comment(const std::string& text);  // a "--" in the text becomes "-" (XML comments forbid it)
  void raw(const std::string& text) { out_ << text; }
  void prop(const std::string& id, const std::string& value, const char* indent = "    ");
  // Bandwidth in GBps and latency in us; SPLITDUPLEX when full duplex, else SHARED.
  void link(const std::string& id, double bytes_s, double latency_s, bool split_duplex);
  void router(const std::string& id);
  void route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
             bool symmetrical = true);
  // The document so far, the buffered routes, and the closing tags of the zone and the platform.
  std::string finish();

 private:
  std::ostringstream out_;
  std::ostringstream routes_;
};

}  // namespace zerosim
