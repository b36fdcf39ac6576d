// Platform validation before SimGrid: every way a user's platform XML can be unusable becomes a
// ConfigError naming the file (SimGrid itself would abort the process).
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/units.h"

using namespace zerosim;

namespace {

const std::string kHead =
    "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n";

std::string gpu_host(const std::string& id, int node = -1, int local = -1) {
  std::string s = "<host id=\"" + id + "\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/>";
  if (node >= 0) s += "<prop id=\"node\" value=\"" + std::to_string(node) + "\"/>";
  if (local >= 0) s += "<prop id=\"local_rank\" value=\"" + std::to_string(local) + "\"/>";
  return s + "</host>";
}

// Two GPU hosts joined by one link, with `extra` inside the zone before the routes.
std::string two_gpus(const std::string& routing = "Full",
                     const std::string& route = "<route src=\"a\" dst=\"b\"><link_ctn id=\"l\"/></route>") {
  return kHead + "<platform version=\"4.1\"><zone id=\"z\" routing=\"" + routing + "\">" + gpu_host("a") +
         gpu_host("b") + "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>" + route +
         "</zone></platform>";
}

std::string error_of(const std::string& xml, int64_t requested = 0) {
  try {
    check_platform_xml(xml, "user.xml", requested);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A scratch file that removes itself.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    path = std::filesystem::temp_directory_path() /
           ("zerosim-platform-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".xml");
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("a well-formed two-GPU platform passes and completes props from the catalogue") {
  const PlatformInfo info = check_platform_xml(two_gpus(), "user.xml", 2);
  REQUIRE(info.gpu_hosts.size() == 2);
  CHECK(info.gpu_hosts[0].host == "a");
  CHECK(info.gpu_hosts[0].gpu.bf16_flops == Approx(312e12));  // from platforms/gpus.yaml
  CHECK(info.gpu_hosts[0].gpu.memory_bytes > 0);
  CHECK(info.intra.empty());
}

TEST_CASE("file-level problems name the file") {
  CHECK_THROWS_WITH(check_platform_file("/nonexistent/cluster.xml"),
                    Catch::Contains("/nonexistent/cluster.xml") && Catch::Contains("not found"));
  CHECK_THROWS_WITH(check_platform_file(std::filesystem::temp_directory_path().string()),
                    Catch::Contains("directory"));
  const TempFile not_xml("gpus: 8\nthis is YAML, not XML\n");
  CHECK_THROWS_WITH(check_platform_file(not_xml.path.string()),
                    Catch::Contains(not_xml.path.string()) && Catch::Contains("not a well-formed XML"));
  const TempFile truncated(two_gpus().substr(0, 200));
  CHECK_THROWS_WITH(check_platform_file(truncated.path.string()), Catch::Contains("line"));
}

TEST_CASE("root element and DTD version") {
  CHECK_THAT(error_of(kHead + "<cluster/>"), Catch::Contains("root element is <cluster>"));
  std::string v3 = two_gpus();
  v3.replace(v3.find("4.1"), 3, "3");
  CHECK_THAT(error_of(v3), Catch::Contains("version '3'"));
  std::string none = two_gpus();
  none.replace(none.find(" version=\"4.1\""), 14, "");
  CHECK_THAT(error_of(none), Catch::Contains("version ''"));
}

TEST_CASE("GPU hosts: found by props, incomplete ones rejected with the missing props") {
  const std::string cpu_only = kHead +
                               "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
                               "<host id=\"cpu\" speed=\"1Gf\"/></zone></platform>";
  CHECK_THAT(error_of(cpu_only), Catch::Contains("no GPU hosts") && Catch::Contains("a100-80gb-sxm"));

  std::string unknown = two_gpus();
  unknown.replace(unknown.find("a100-80gb-sxm"), 13, "tpu-v9");
  CHECK_THAT(error_of(unknown),
             Catch::Contains("host 'a'") && Catch::Contains("tpu-v9") && Catch::Contains("memory_bytes"));

  // A GPU the catalogue does not know is usable when the host carries its numbers.
  const std::string custom =
      kHead +
      "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
      "<host id=\"x\" speed=\"100Tf\"><prop id=\"gpu\" value=\"my-gpu\"/>"
      "<prop id=\"memory_bytes\" value=\"1000\"/><prop id=\"bf16_flops\" value=\"1e14\"/>"
      "<prop id=\"mem_bw_bytes_s\" value=\"1e12\"/></host></zone></platform>";
  const PlatformInfo info = check_platform_xml(custom, "user.xml");
  CHECK(info.gpu_hosts.at(0).gpu.memory_bytes == 1000);
  CHECK(info.gpu_hosts.at(0).gpu.id == "my-gpu");

  std::string bad_number = custom;
  bad_number.replace(bad_number.find("1e14"), 4, "fast");
  CHECK_THAT(error_of(bad_number), Catch::Contains("bf16_flops='fast'"));

  // A misspelt GPU prop would silently keep the catalogue's value: refused, with the props zerosim reads.
  std::string misspelt = custom;
  misspelt.replace(misspelt.find("mem_bw_bytes_s"), 14, "mem_bandwidth");
  misspelt.replace(misspelt.find("</host>"), 0, "<prop id=\"mem_bw_bytes_s\" value=\"1e12\"/>");
  CHECK_THAT(error_of(misspelt), Catch::Contains("host 'x'") && Catch::Contains("prop 'mem_bandwidth'") &&
                                     Catch::Contains("allowed: gpu, memory_bytes"));
}

TEST_CASE("rank order follows node and local_rank props, not file order") {
  const std::string xml = kHead + "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">" +
                          gpu_host("late", 1, 0) + gpu_host("early", 0, 1) + gpu_host("first", 0, 0) +
                          "<link id=\"l\" bandwidth=\"1GBps\"/>"
                          "<route src=\"late\" dst=\"early\"><link_ctn id=\"l\"/></route>"
                          "<route src=\"early\" dst=\"first\"><link_ctn id=\"l\"/></route></zone></platform>";
  const PlatformInfo info = check_platform_xml(xml, "user.xml");
  REQUIRE(info.gpu_hosts.size() == 3);
  CHECK(info.gpu_hosts[0].host == "first");
  CHECK(info.gpu_hosts[1].host == "early");
  CHECK(info.gpu_hosts[2].host == "late");

  std::string clash = xml;
  clash.replace(clash.find("\"node\" value=\"1\""), 16, "\"node\" value=\"0\"");
  clash.replace(clash.find("\"local_rank\" value=\"0\""), 22, "\"local_rank\" value=\"1\"");
  CHECK_THAT(error_of(clash), Catch::Contains("same node/local_rank"));
}

TEST_CASE("disconnected GPU hosts are found before SimGrid would abort on them") {
  CHECK_THAT(error_of(two_gpus("Full", "")), Catch::Contains("cannot be reached") && Catch::Contains(": b"));
  // Dijkstra zones connect through routers: a -> r -> b is connected, a -> r alone is not.
  const std::string via_router =
      kHead + "<platform version=\"4.1\"><zone id=\"z\" routing=\"DijkstraCache\">" + gpu_host("a") +
      gpu_host("b") + gpu_host("c") +
      "<router id=\"r\"/><link id=\"l\" bandwidth=\"1GBps\" sharing_policy=\"SPLITDUPLEX\"/>"
      "<route src=\"a\" dst=\"r\"><link_ctn id=\"l\" direction=\"UP\"/></route>"
      "<route src=\"r\" dst=\"b\"><link_ctn id=\"l\" direction=\"UP\"/></route></zone></platform>";
  CHECK_THAT(error_of(via_router),
             Catch::Contains("1 GPU host(s) cannot be reached") && Catch::Contains("c"));
}

TEST_CASE("routes must name declared hosts and links, and values need SimGrid units") {
  CHECK_THAT(error_of(two_gpus("Full", "<route src=\"a\" dst=\"ghost\"><link_ctn id=\"l\"/></route>")),
             Catch::Contains("'ghost' is not a declared"));
  CHECK_THAT(error_of(two_gpus("Full", "<route src=\"a\" dst=\"b\"><link_ctn id=\"nolink\"/></route>")),
             Catch::Contains("link 'nolink' is not declared"));
  std::string bad_unit = two_gpus();
  bad_unit.replace(bad_unit.find("25GBps"), 6, "25Gbit");
  CHECK_THAT(error_of(bad_unit), Catch::Contains("bandwidth='25Gbit'") && Catch::Contains("GBps"));
  std::string no_speed = two_gpus();
  no_speed.replace(no_speed.find(" speed=\"312Tf\""), 14, "");
  CHECK_THAT(error_of(no_speed), Catch::Contains("missing attribute 'speed'"));
  std::string twice = two_gpus();
  twice.replace(twice.find("id=\"b\""), 6, "id=\"a\"");
  CHECK_THAT(error_of(twice), Catch::Contains("declared twice"));
  CHECK_THAT(error_of(two_gpus("Shortest")), Catch::Contains("routing='Shortest'"));
}

TEST_CASE("fewer GPU hosts than requested GPUs") {
  CHECK_THAT(error_of(two_gpus(), 3), Catch::Contains("2 GPU host(s), but 3 GPUs are requested"));
  const TempFile f(two_gpus());
  CHECK(gpu_hosts(f.path.string(), 1) == std::vector<std::string>{"a"});
  CHECK(gpu_hosts(f.path.string()) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("<cluster> elements expand to their hosts with the cluster's props") {
  const std::string xml =
      kHead +
      "<platform version=\"4.1\"><zone id=\"world\" routing=\"Full\">"
      "<cluster id=\"c\" prefix=\"gpu-\" suffix=\"\" radical=\"0-3,8\" speed=\"71Tf\" bw=\"25GBps\" "
      "lat=\"1us\"><prop id=\"gpu\" value=\"rtx-3090\"/></cluster></zone></platform>";
  const PlatformInfo info = check_platform_xml(xml, "user.xml", 5);
  REQUIRE(info.gpu_hosts.size() == 5);
  CHECK(info.gpu_hosts[4].host == "gpu-8");
  CHECK(info.gpu_hosts[4].gpu.id == "rtx-3090");
}

// SimGrid 3.32 aborts, segfaults or loops on route tables its own assertions reject; found by
// fuzz_platform (a DijkstraCache zone with a route declared twice segfaulted in
// DijkstraZone::new_edge) and by reading RoutedZone/FullZone/FloydZone/DijkstraZone::add_route.
TEST_CASE("route tables SimGrid would crash on: repeated, symmetrical-reverse and empty routes") {
  const std::string ab = "<route src=\"a\" dst=\"b\"><link_ctn id=\"l\"/></route>";
  const std::string ab_one_way = "<route src=\"a\" dst=\"b\" symmetrical=\"NO\"><link_ctn id=\"l\"/></route>";
  const std::string ba_one_way = "<route src=\"b\" dst=\"a\" symmetrical=\"NO\"><link_ctn id=\"l\"/></route>";
  const std::string ba = "<route src=\"b\" dst=\"a\"><link_ctn id=\"l\"/></route>";
  for (const std::string routing : {"Full", "Floyd", "Dijkstra", "DijkstraCache"}) {
    INFO(routing);
    // The same direction twice (the fuzz finding, in a DijkstraCache zone).
    CHECK_THAT(
        error_of(two_gpus(routing, ab_one_way + ab_one_way + ba_one_way)),
        Catch::Contains("user.xml") && Catch::Contains("zone 'z' route a -> b") &&
            Catch::Contains("a route from 'a' to 'b' is already declared in zone 'z' (routing='" + routing));
    // A symmetrical route declares its reverse: an explicit reverse repeats it.
    CHECK_THAT(
        error_of(two_gpus(routing, ab + ba)),
        Catch::Contains("route b -> a") && Catch::Contains("a route from 'b' to 'a' is already declared"));
    CHECK_THAT(error_of(two_gpus(routing, ba_one_way + ab)),
               Catch::Contains("the reverse route from 'b' to 'a' is already declared") &&
                   Catch::Contains("symmetrical=\"NO\""));
    // Both directions declared one way each, or one symmetrical route: accepted.
    CHECK(check_platform_xml(two_gpus(routing, ab_one_way + ba_one_way), "user.xml").gpu_hosts.size() == 2);
    CHECK(check_platform_xml(two_gpus(routing, ab), "user.xml").gpu_hosts.size() == 2);
    // Only one way: SimGrid's Dijkstra loops forever looking for b -> a, Floyd throws.
    CHECK_THAT(error_of(two_gpus(routing, ab_one_way)),
               Catch::Contains("1 GPU host(s) have no route back to 'a'") && Catch::Contains(": b"));
    // A route without links.
    CHECK_THAT(error_of(two_gpus(routing, "<route src=\"a\" dst=\"b\"/>")),
               Catch::Contains("<route> without a <link_ctn>"));
  }
  // A symmetrical route from a host to itself: Full skips the reverse, Floyd and Dijkstra add it twice.
  const std::string loop = "<route src=\"a\" dst=\"a\"><link_ctn id=\"l\"/></route>";
  CHECK_NOTHROW(check_platform_xml(two_gpus("Full", ab + loop), "user.xml"));
  CHECK_THAT(error_of(two_gpus("Floyd", ab + loop)),
             Catch::Contains("a route from 'a' to itself needs symmetrical=\"NO\""));
  CHECK_NOTHROW(check_platform_xml(
      two_gpus("Dijkstra", ab + "<route src=\"a\" dst=\"a\" symmetrical=\"NO\"><link_ctn id=\"l\"/></route>"),
      "user.xml"));
  // Bypass routes: one table of their own, one way, not empty.
  const std::string bypass = "<bypassRoute src=\"a\" dst=\"b\"><link_ctn id=\"l\"/></bypassRoute>";
  CHECK_NOTHROW(check_platform_xml(two_gpus("Full", ab + bypass), "user.xml"));
  CHECK_THAT(error_of(two_gpus("Full", ab + bypass + bypass)),
             Catch::Contains("a bypass route from 'a' to 'b' is already declared"));
}

TEST_CASE("route endpoints, zone routes and zone routings as SimGrid 3.32 accepts them") {
  // A <route> joins hosts and routers of its own zone, never a zone.
  CHECK_THAT(error_of(two_gpus("Full",
                               "<route src=\"a\" dst=\"b\"><link_ctn id=\"l\"/></route>"
                               "<route src=\"a\" dst=\"z\"><link_ctn id=\"l\"/></route>")),
             Catch::Contains("dst='z' is a zone") && Catch::Contains("<zoneRoute>"));
  // Two child zones joined by a <zoneRoute> through gateways inside each.
  auto zones = [](const std::string& routing, const std::string& routes) {
    return kHead + "<platform version=\"4.1\"><zone id=\"top\" routing=\"" + routing + "\">" +
           "<zone id=\"z1\" routing=\"Full\">" + gpu_host("a") + "</zone>" +
           "<zone id=\"z2\" routing=\"Full\">" + gpu_host("b") +
           "</zone><link id=\"x\" bandwidth=\"25GBps\" latency=\"1us\"/>" + routes + "</zone></platform>";
  };
  const std::string z12 =
      "<zoneRoute src=\"z1\" dst=\"z2\" gw_src=\"a\" gw_dst=\"b\"><link_ctn id=\"x\"/></zoneRoute>";
  CHECK(check_platform_xml(zones("Full", z12), "user.xml").gpu_hosts.size() == 2);
  CHECK_THAT(error_of(zones("Dijkstra", z12 + "<zoneRoute src=\"z2\" dst=\"z1\" gw_src=\"b\" gw_dst=\"a\">"
                                              "<link_ctn id=\"x\"/></zoneRoute>")),
             Catch::Contains("zoneRoute z2 -> z1") && Catch::Contains("already declared"));
  CHECK_THAT(error_of(zones("Full",
                            "<zoneRoute src=\"z1\" dst=\"z2\" gw_src=\"b\" gw_dst=\"a\">"
                            "<link_ctn id=\"x\"/></zoneRoute>")),
             Catch::Contains("gw_src='b' is not a host or router inside zone 'z1'"));
  CHECK_THAT(error_of(zones("Full",
                            "<zoneRoute src=\"a\" dst=\"z2\" gw_src=\"a\" gw_dst=\"b\">"
                            "<link_ctn id=\"x\"/></zoneRoute>")),
             Catch::Contains("src='a' is not a zone or cluster declared directly in zone 'top'"));
  CHECK_THAT(error_of(zones("Cluster", z12)),
             Catch::Contains("routing='Cluster'") && Catch::Contains("Full, Floyd, Dijkstra, DijkstraCache"));
  // Routings SimGrid 3.32's XML does not build (Star, Cluster*) or zerosim does not model (Vivaldi, Wifi).
  for (const std::string routing : {"Star", "ClusterFatTree", "Vivaldi", "Wifi"})
    CHECK_THAT(error_of(two_gpus(routing)),
               Catch::Contains("routing='" + routing + "' is not supported") &&
                   Catch::Contains("Full, Floyd, Dijkstra, DijkstraCache, Cluster, None"));
  // A Cluster zone connects its hosts itself and takes no <route>.
  CHECK_NOTHROW(check_platform_xml(two_gpus("Cluster", ""), "user.xml"));
  CHECK_THAT(error_of(two_gpus("Cluster")), Catch::Contains("<route> in zone 'z' (routing='Cluster')"));
}

TEST_CASE("GPU numbers in host props stay in range before they become integers") {
  // Found by fuzz_platform under UBSan: memory_bytes="017884046344943715697" (1.8e19) overflowed the
  // conversion to int64.
  auto with_memory = [](const std::string& value) {
    return kHead +
           "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
           "<host id=\"x\" speed=\"100Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/>"
           "<prop id=\"memory_bytes\" value=\"" +
           value + "\"/></host></zone></platform>";
  };
  CHECK(check_platform_xml(with_memory("85899345920"), "user.xml").gpu_hosts.at(0).gpu.memory_bytes ==
        85'899'345'920);
  CHECK(check_platform_xml(with_memory("1125899906842624"), "user.xml").gpu_hosts.at(0).gpu.memory_bytes ==
        1'125'899'906'842'624);  // 1 PiB, the limit
  CHECK_THAT(error_of(with_memory("017884046344943715697")),
             Catch::Contains("host 'x'") && Catch::Contains("memory_bytes='017884046344943715697'") &&
                 Catch::Contains("over the limit (1125899906842624 bytes, 1 PiB)"));
  CHECK_THAT(error_of(with_memory("1e999")), Catch::Contains("not a positive number"));
  CHECK_THAT(error_of(with_memory("inf")), Catch::Contains("not a positive number"));
  std::string sms = with_memory("85899345920");
  sms.insert(sms.find("</host>"), "<prop id=\"sms\" value=\"1e300\"/>");
  CHECK_THAT(error_of(sms), Catch::Contains("sms='1e300' is over the limit"));
  // Units that overflow a double are not numbers either.
  std::string speed = two_gpus();
  speed.replace(speed.find("312Tf"), 5, "1e300Yf");
  CHECK_THAT(error_of(speed), Catch::Contains("speed='1e300Yf'"));
  std::string per_node = two_gpus();
  per_node.insert(per_node.find("<host"), "<prop id=\"gpus_per_node\" value=\"99999999999999999999\"/>");
  CHECK_THAT(error_of(per_node), Catch::Contains("gpus_per_node='99999999999999999999'"));
}

namespace {

// GPUs a and b with CPU hosts `cpus` and `routes` besides a - b.
std::string with_cpus(const std::string& cpus, const std::string& routes,
                      const std::string& zone_props = "") {
  return kHead + "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">" + zone_props +
         gpu_host("a", 0, 0) + gpu_host("b", 0, 1) + cpus +
         "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>" +
         "<route src=\"a\" dst=\"b\"><link_ctn id=\"l\"/></route>" + routes + "</zone></platform>";
}
std::string cpu(const std::string& id, const std::string& props,
                const std::string& attrs = "speed=\"50Mf\" core=\"8\"") {
  return "<host id=\"" + id + "\" " + attrs + "><prop id=\"kind\" value=\"cpu\"/>" + props + "</host>";
}
std::string route(const std::string& src, const std::string& dst) {
  return "<route src=\"" + src + "\" dst=\"" + dst + "\"><link_ctn id=\"l\"/></route>";
}

}  // namespace

TEST_CASE("CPU hosts: recognised by kind=cpu, completed from the catalogue, never GPU hosts", "[host]") {
  // memory_bytes and mem_bw_bytes_s are GPU numbers on a GPU host; on a CPU host they are the socket's.
  const PlatformInfo info = check_platform_xml(
      with_cpus(cpu("c1",
                    "<prop id=\"node\" value=\"0\"/><prop id=\"socket\" value=\"1\"/>"
                    "<prop id=\"memory_bytes\" value=\"1000\"/>") +
                    cpu("c0", "<prop id=\"node\" value=\"0\"/><prop id=\"socket\" value=\"0\"/>"),
                route("a", "c0") + route("b", "c1"), "<prop id=\"host\" value=\"dgx-h100\"/>"),
      "user.xml");
  CHECK(info.gpu_hosts.size() == 2);
  REQUIRE(info.cpu_hosts.size() == 2);
  CHECK(info.cpu_hosts[0].host == "c0");                                      // sorted by (node, socket)
  CHECK(info.cpu_hosts[0].cores == 8);                                        // the core attribute
  CHECK(info.cpu_hosts[0].cpu_adam_elements_per_s_per_core == Approx(50e6));  // speed="50Mf"
  CHECK(info.cpu_hosts[0].memory_bytes == 1024 * kBytesPerGiB);  // dgx-h100: 2 TiB over 2 sockets
  CHECK(info.cpu_hosts[0].mem_bw_bytes_s == Approx(186e9));
  CHECK(info.cpu_hosts[1].memory_bytes == 1000);
  CHECK(info.cpu_hosts[0].numa_nodes == 0);  // not given: the run's host decides (platform_setup)
  CHECK(info.host == "dgx-h100");
  // Each GPU's CPU host is the one its route leads to.
  CHECK(info.gpu_hosts[0].cpu_host == "c0");
  CHECK(info.gpu_hosts[1].cpu_host == "c1");
}

TEST_CASE("CPU hosts: malformed ones are ConfigErrors naming the host and what is allowed",
          "[host][errors]") {
  const std::string ok = route("a", "c0");
  CHECK_THAT(error_of(with_cpus(cpu("c0", "<prop id=\"bf16_flops\" value=\"1e12\"/>"), ok)),
             Catch::Contains("host 'c0'") && Catch::Contains("'bf16_flops' is not a CPU host property"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", "<prop id=\"mem_bw_bytes_s\" value=\"fast\"/>"), ok)),
             Catch::Contains("prop mem_bw_bytes_s='fast' is not a positive number"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", "<prop id=\"numa_nodes\" value=\"0\"/>"), ok)),
             Catch::Contains("prop numa_nodes='0'"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", "<prop id=\"socket\" value=\"-1\"/>"), ok)),
             Catch::Contains("prop socket='-1' is not a whole number"));
  CHECK_THAT(
      error_of(with_cpus(cpu("c0", "<prop id=\"cpu_adam_elements_per_s_per_core\" value=\"8e7\"/>"), ok)),
      Catch::Contains("differs from the host's speed='50Mf'"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", "", "speed=\"50Mf\" core=\"many\""), ok)),
             Catch::Contains("core='many' is not a whole number"));
  const std::string pair = cpu("c0", "<prop id=\"node\" value=\"0\"/><prop id=\"socket\" value=\"0\"/>") +
                           cpu("c1", "<prop id=\"node\" value=\"0\"/><prop id=\"socket\" value=\"0\"/>");
  CHECK_THAT(error_of(with_cpus(pair, ok)), Catch::Contains("same node/socket (0/0)"));
  CHECK_THAT(error_of(with_cpus("<host id=\"c0\" speed=\"1f\"><prop id=\"kind\" value=\"nic\"/></host>", "")),
             Catch::Contains("kind='nic'") && Catch::Contains("allowed: cpu"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", ""), ok, "<prop id=\"host\" value=\"mainframe\"/>")),
             Catch::Contains("zone prop host='mainframe'") && Catch::Contains("workstation"));
  CHECK_THAT(error_of(with_cpus(cpu("c0", ""), ok, "<prop id=\"pcie_gen\" value=\"7\"/>")),
             Catch::Contains("zone prop pcie_gen='7'") && Catch::Contains("allowed: 3, 4, 5"));
  // A CPU host the GPUs would copy to but cannot reach.
  CHECK_THAT(error_of(with_cpus(cpu("c0", ""), "")),
             Catch::Contains("1 CPU host(s) that GPUs copy to cannot be reached") && Catch::Contains("c0"));
  CHECK_THAT(
      error_of(with_cpus(cpu("c0", ""),
                         "<route src=\"a\" dst=\"c0\" symmetrical=\"NO\"><link_ctn id=\"l\"/></route>")),
      Catch::Contains("have no route back"));
}

TEST_CASE("a platform without CPU hosts is accepted: no GPU has one", "[host]") {
  const PlatformInfo info = check_platform_xml(two_gpus(), "user.xml");
  CHECK(info.cpu_hosts.empty());
  CHECK(info.gpu_hosts[0].cpu_host.empty());
  CHECK(info.host.empty());
  CHECK(info.pcie_gen == 0);
}
