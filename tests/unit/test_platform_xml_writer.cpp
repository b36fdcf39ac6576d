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

TEST_CASE("the zone, its props and hosts are written as SimGrid's DTD has them") {
  PlatformXmlWriter w;
  w.declaration();
  w.open_zone("cluster", "DijkstraCache", {{"gpu", "h100-80gb-sxm"}, {"nodes", "2"}});
  // 989.4e12 flop/s with 17 significant digits; a CPU host gets core="N", a GPU host none (one core).
  w.host("node0-gpu0", 989.4e12, 0, {{"local_rank", "0"}});
  w.host("node0-cpu0-host", 1.25e9, 56, {});
  CHECK(w.finish() ==
        "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
        "<platform version=\"4.1\">\n  <zone id=\"cluster\" routing=\"DijkstraCache\">\n"
        "    <prop id=\"gpu\" value=\"h100-80gb-sxm\"/>\n    <prop id=\"nodes\" value=\"2\"/>\n"
        "    <host id=\"node0-gpu0\" speed=\"989400000000000f\">\n"
        "      <prop id=\"local_rank\" value=\"0\"/>\n    </host>\n"
        "    <host id=\"node0-cpu0-host\" speed=\"1250000000f\" core=\"56\">\n    </host>\n"
        "  </zone>\n</platform>\n");
}

TEST_CASE("the text handed to SimGrid for rates and times is the XML's, in its units") {
  // 400 Gb/s = 50 GB/s; 1.3 us; 31.5076923077 GBps is PCIe 4.0 x16 at 12 digits (as above).
  CHECK(simgrid_bandwidth(50e9) == "50GBps");
  CHECK(simgrid_bandwidth(16e9 * 16 * 128 / 130 / 8) == "31.5076923077GBps");
  CHECK(simgrid_latency(1.3e-6) == "1.3us");
  CHECK(simgrid_speed(312e12) == "312000000000000f");
}
