// The zone generated platforms route with in memory (sim/engine/shortest_path_zone.h) against SimGrid's
// DijkstraCache loading the same platform from its XML: every route between every pair of hosts, link
// by link in SimGrid's order, with the same latency to the bit. SimGrid allows one engine per process,
// so each side runs in a child process.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "generated_cluster.h"
#include "sim/engine/platform_probe.h"
#include "sim/platform/platform_builder.h"
#include "test_support.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/run_config.h"

using namespace zerosim;
using zerosim::testing::cluster;

namespace {

// probe_platform's routes, from a child process (the JSON it writes to a file).
nlohmann::json probe_in_child(const PlatformProbe& probe) {
  const zerosim::testing::TempDir dir;
  const std::string path = dir.path("routes.json");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 0;
    try {
      std::ofstream(path) << probe_platform(probe)["routes"].dump();
    } catch (...) {
      rc = 1;
    }
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return nlohmann::json::parse(text.str());
}

void check_same_routes(const ClusterSpec& c) {
  const GpuSpec& gpu = find_gpu(c.gpu);
  const HostSpec host = resolve_host(c, gpu);
  const zerosim::testing::TempDir dir;
  PlatformProbe probe;
  probe.file = dir.write("platform.xml", build_platform_xml(c, gpu, host));
  // The routes the engine asks for: every GPU pair, and each GPU to and from its own CPU host. (A GPU's
  // path to the other socket's CPU host is not unique — through any GPU of that socket — and the two
  // searches break that tie differently; the engine never uses it.)
  std::vector<std::string> gpus;
  for (int64_t r = 0; r < c.gpus; ++r)
    gpus.push_back(gpu_host_name(r / c.gpus_per_node, r % c.gpus_per_node));
  for (const auto& a : gpus)
    for (const auto& b : gpus)
      if (a != b) probe.routes.emplace_back(a, b);
  const std::vector<std::string> cpu_hosts = rank_cpu_host_names(c, gpu, host);
  for (size_t r = 0; r < gpus.size(); ++r) {
    probe.routes.emplace_back(gpus[r], cpu_hosts[r]);
    probe.routes.emplace_back(cpu_hosts[r], gpus[r]);
  }

  const nlohmann::json from_xml = probe_in_child(probe);
  probe.generate = [&](PlatformSink& sink) { generate_platform(c, gpu, host, sink); };
  const nlohmann::json in_memory = probe_in_child(probe);

  REQUIRE(from_xml.size() == probe.routes.size());
  REQUIRE(in_memory.size() == from_xml.size());
  for (size_t i = 0; i < from_xml.size(); ++i) {
    INFO(from_xml[i]["src"].get<std::string>() << " -> " << from_xml[i]["dst"].get<std::string>());
    CHECK(in_memory[i]["links"] == from_xml[i]["links"]);
    CHECK(in_memory[i]["latency_s"].get<double>() == from_xml[i]["latency_s"].get<double>());
    CHECK(in_memory[i]["bandwidth_bytes_s"].get<double>() == from_xml[i]["bandwidth_bytes_s"].get<double>());
  }
}

}  // namespace

TEST_CASE("generated platforms route in memory exactly as DijkstraCache routes their XML",
          "[platform][routing]") {
  SECTION("2 x 8 H100, NVSwitch, NDR rails (a spine: one leaf per rail)") {
    check_same_routes(cluster("h100-80gb-sxm", 2, 8, "nvswitch", "ib-ndr400"));
  }
  SECTION("3 x 8 A100, 4 NICs per node, not rail-optimised") {
    ClusterSpec c = cluster("a100-80gb-sxm", 3, 8, "nvswitch", "ib-hdr200");
    c.nics_per_node = 4;
    c.rail_optimized = false;
    check_same_routes(c);
  }
  SECTION("2 x 8 A100 PCIe on two sockets, RoCE") {
    ClusterSpec c = cluster("a100-80gb-pcie", 2, 8, "pcie", "roce-200g");
    c.host = "pcie-server-2s";
    check_same_routes(c);
  }
  SECTION("2 RTX 3090 over an NVLink bridge, one node") {
    check_same_routes(cluster("rtx-3090", 1, 2, "nvlink-bridge", "none"));
  }
}
