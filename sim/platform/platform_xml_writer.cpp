#include "sim/platform/platform_xml_writer.h"

#include <cstdio>

namespace zerosim {

std::string format_number(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

namespace {

std::string bandwidth(double bytes_s) { return format_number(bytes_s / 1e9, 12) + "GBps"; }
std::string latency(double s) { return format_number(s * 1e6, 9) + "us"; }

const char* direction_attribute(LinkDirection dir) {
  switch (dir) {
    case LinkDirection::up:
      return " direction=\"UP\"";
    case LinkDirection::down:
      return " direction=\"DOWN\"";
    case LinkDirection::none:
      break;
  }
  return "";
}

}  // namespace

void PlatformXmlWriter::comment(const std::string& text) {
  std::string safe = text;
  for (size_t p; (p = safe.find("--")) != std::string::npos;) safe.erase(p, 1);
  out_ << "<!-- " << safe << " -->\n";
}

void PlatformXmlWriter::prop(const std::string& id, const std::string& value, const char* indent) {
  out_ << indent << "<prop id=\"" << id << "\" value=\"" << value << "\"/>\n";
}

void PlatformXmlWriter::link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) {
  out_ << "    <link id=\"" << id << "\" bandwidth=\"" << bandwidth(bytes_s) << "\" latency=\""
       << latency(latency_s) << "\" sharing_policy=\"" << (split_duplex ? "SPLITDUPLEX" : "SHARED")
       << "\"/>\n";
}

void PlatformXmlWriter::router(const std::string& id) { out_ << "    <router id=\"" << id << "\"/>\n"; }

void PlatformXmlWriter::route(const std::string& src, const std::string& dst, const std::vector<Hop>& hops,
                              bool symmetrical) {
  routes_ << "    <route src=\"" << src << "\" dst=\"" << dst << "\""
          << (symmetrical ? "" : " symmetrical=\"NO\"") << ">";
  for (const auto& h : hops)
    routes_ << "<link_ctn id=\"" << h.link << "\"" << direction_attribute(h.dir) << "/>";
  routes_ << "</route>\n";
}

std::string PlatformXmlWriter::finish() {
  out_ << routes_.str();
  out_ << "  </zone>\n</platform>\n";
  return out_.str();
}

}  // namespace zerosim
