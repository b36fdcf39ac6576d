#include "sim/platform/platform_xml_writer.h"

#include <cstdio>

namespace zerosim {

std::string format_number(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string simgrid_bandwidth(double bytes_s) { return format_number(bytes_s / 1e9, 12) + "GBps"; }
std::string simgrid_latency(double s) { return format_number(s * 1e6, 9) + "us"; }
std::string simgrid_speed(double flops) { return format_number(flops, 17) + "f"; }

namespace {

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

void PlatformXmlWriter::declaration() {
  out_ << "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n";
}

void PlatformXmlWriter::comment(const std::string& text) {
  std::string safe = text;
  for (size_t p; (p = safe.find("--")) != std::string::npos;) safe.erase(p, 1);
  out_ << "<!-- " << safe << " -->\n";
}

void PlatformXmlWriter::prop(const std::string& id, const std::string& value, const char* indent) {
  out_ << indent << "<prop id=\"" << id << "\" value=\"" << value << "\"/>\n";
}

void PlatformXmlWriter::open_zone(const std::string& id, const std::string& routing, const Props& props) {
  out_ << "<platform version=\"4.1\">\n  <zone id=\"" << id << "\" routing=\"" << routing << "\">\n";
  for (const auto& [key, value] : props) prop(key, value, "    ");
}

void PlatformXmlWriter::host(const std::string& id, double flops, int cores, const Props& props) {
  out_ << "    <host id=\"" << id << "\" speed=\"" << simgrid_speed(flops) << "\"";
  if (cores > 0) out_ << " core=\"" << cores << "\"";
  out_ << ">\n";
  for (const auto& [key, value] : props) prop(key, value, "      ");
  out_ << "    </host>\n";
}

void PlatformXmlWriter::link(const std::string& id, double bytes_s, double latency_s, bool split_duplex) {
  out_ << "    <link id=\"" << id << "\" bandwidth=\"" << simgrid_bandwidth(bytes_s) << "\" latency=\""
       << simgrid_latency(latency_s) << "\" sharing_policy=\"" << (split_duplex ? "SPLITDUPLEX" : "SHARED")
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
