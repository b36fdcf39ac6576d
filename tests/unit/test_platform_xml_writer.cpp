// The platform XML writer: SimGrid's units and number formats, and routes after every other element.
#include <catch2/catch.hpp>

#include "sim/platform/platform_xml_writer.h"

using namespace zerosim;

TEST_CASE("format_number: %g with the requested significant digits") {
  CHECK(format_number(312e12, 17) == "312000000000000");
  CHECK(format_number(1.0 / 3.0, 4) == "0.3333");
  CHECK(format_number(0.5) == "0.5");
}

TEST_CASE("links are written in GBps and us with their sharing policy") {
  PlatformXmlWriter w;
  // 31.5076923 GB/s: PCIe 4.0 x16 = 16 GT/s x 16 lanes x 128/130 / 8 = 31.50769230769... GB/s (12 digits)
  w.link("a", 16e9 * 16 * 128 / 130 / 8, 0.35e-6, true);
  w.link("b", 56.25e9, 0.0, false);
  CHECK(w.finish() ==
        "    <link id=\"a\" bandwidth=\"31.5076923077GBps\" latency=\"0.35us\" "
        "sharing_policy=\"SPLITDUPLEX\"/>\n"
        "    <link id=\"b\" bandwidth=\"56.25GBps\" latency=\"0us\" sharing_policy=\"SHARED\"/>\n"
        "  </zone>\n</platform>\n");
}

TEST_CASE("routes follow every router and link, whatever order they were written in") {
  PlatformXmlWriter w;
  w.router("sw");
  w.route("g0", "sw", {{"g0-port", LinkDirection::up}, {"xbar", LinkDirection::none}}, false);
  w.link("g0-port", 1e9, 1e-6, true);
  w.route("g0", "g1", {{"bridge", LinkDirection::down}});
  CHECK(w.finish() ==
        "    <router id=\"sw\"/>\n"
        "    <link id=\"g0-port\" bandwidth=\"1GBps\" latency=\"1us\" sharing_policy=\"SPLITDUPLEX\"/>\n"
        "    <route src=\"g0\" dst=\"sw\" symmetrical=\"NO\"><link_ctn id=\"g0-port\" direction=\"UP\"/>"
        "<link_ctn id=\"xbar\"/></route>\n"
        "    <route src=\"g0\" dst=\"g1\"><link_ctn id=\"bridge\" direction=\"DOWN\"/></route>\n"
        "  </zone>\n</platform>\n");
}

TEST_CASE("comments lose the dash pairs XML forbids inside them") {
  PlatformXmlWriter w;
  w.comment("NCCL -- see docs --- here");
  // "--" -> "-" repeatedly: "---" becomes "--" then "-".
  CHECK(w.finish() == "<!-- NCCL - see docs - here -->\n  </zone>\n</platform>\n");
}
