// zerosim platform: generated and bundled platforms load in SimGrid (through `platform --check`, which
// runs SimGrid in its own process: one engine per process), routes carry the table's rates and
// latencies, a shared link slows concurrent flows, and bad input is exit 2 naming the file or flag.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("zerosim-platform-cli-" + name)).string();
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

nlohmann::json check(const std::string& args) {
  const auto r = run_zerosim("platform --check " + args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// A two-node DGX A100 pair, generated once per test that needs it.
std::string two_dgx_a100(bool rail = true) {
  const std::string path = temp_path(rail ? "2xdgx-a100.xml" : "2xdgx-a100-flat.xml");
  const auto r = run_zerosim("platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter ib-hdr200" +
                             std::string(rail ? "" : " --no-rail-optimized") + " -o " + path);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return path;
}

}  // namespace

TEST_CASE("platform --help names the flags and allowed values", "[platform]") {
  const auto r = run_zerosim("platform --help");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("--gpus-per-node") && Catch::Contains("nvlink-bridge") &&
                        Catch::Contains("ib-ndr400") && Catch::Contains("--no-rail-optimized"));
}

TEST_CASE("platform writes XML to stdout that SimGrid loads", "[platform]") {
  const auto r = run_zerosim("platform --gpu h100-80gb-sxm --nodes 2 --gpus-per-node 4 --inter ib-ndr400");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("<?xml") && Catch::Contains("<platform version=\"4.1\">"));
  const std::string path = write_temp("stdout.xml", r.out);
  const auto j = check(path + " --gpus 8");
  CHECK(j["hosts"] == 8);
  CHECK(j["rank_hosts"][5] == "node1-gpu1");  // node-major: rank = node * gpus_per_node + local_rank
}

TEST_CASE("every bundled platform loads in SimGrid with its GPUs", "[platform]") {
  const std::vector<std::pair<std::string, int>> bundled = {{"platforms/dgx-a100.xml", 8},
                                                            {"platforms/dgx-h100.xml", 8},
                                                            {"platforms/workstation-2x3090-pcie.xml", 2},
                                                            {"platforms/workstation-2x3090-nvlink.xml", 2},
                                                            {"platforms/server-4xa100-pcie.xml", 4}};
  for (const auto& [file, gpus] : bundled) {
    INFO(file);
    const auto j = check(file + " --ring");
    CHECK(j["hosts"] == gpus);
    CHECK(j["gpu_hosts"] == gpus);
    CHECK(j["ring"]["routes"] == gpus);
  }
}

TEST_CASE("routes carry the interconnect table's rates and latencies", "[platform]") {
  SECTION("DGX A100 inside the node: NVLink3 300 GB/s, port 0.2 + switch 0.1 + port 0.2 us") {
    const auto j = check("platforms/dgx-a100.xml --route node0-gpu0 node0-gpu5");
    const auto& r = j["routes"][0];
    CHECK(r["bandwidth_bytes_s"].get<double>() == Approx(300e9));
    CHECK(r["latency_s"].get<double>() == Approx(0.5e-6));
  }
  SECTION("RTX 3090 pair: bridge 56.25 GB/s vs PCIe 4.0 x16 31.5 GB/s") {
    const auto bridge =
        check("platforms/workstation-2x3090-nvlink.xml --route node0-gpu0 node0-gpu1")["routes"][0];
    CHECK(bridge["bandwidth_bytes_s"].get<double>() == Approx(56.25e9));
    CHECK(bridge["latency_s"].get<double>() == Approx(0.4e-6));
    const auto pcie =
        check("platforms/workstation-2x3090-pcie.xml --route node0-gpu0 node0-gpu1")["routes"][0];
    CHECK(pcie["bandwidth_bytes_s"].get<double>() == Approx(16e9 * 16 * 128 / 130 / 8));
    CHECK(pcie["latency_s"].get<double>() == Approx(1.0e-6));  // NCCL's per-hop PCI latency
  }
  SECTION("4x A100 PCIe server: the other socket adds the CPU interconnect") {
    const auto j =
        check("platforms/server-4xa100-pcie.xml --route node0-gpu0 node0-gpu1 --route node0-gpu0 node0-gpu3");
    CHECK(j["routes"][0]["latency_s"].get<double>() == Approx(1.0e-6));
    // pcie 0.35 + root complex in 0.15 + socket link 0.15 + root complex out 0.15 + pcie 0.35
    CHECK(j["routes"][1]["latency_s"].get<double>() == Approx(1.15e-6));
    CHECK_THAT(j["routes"][1]["links"].dump(), Catch::Contains("node0-socket-link"));
  }
  SECTION("two DGX A100 nodes: HDR 25 GB/s between nodes, one leaf hop on a rail, three across rails") {
    const auto j = check(two_dgx_a100() + " --route node0-gpu2 node1-gpu2 --route node0-gpu2 node1-gpu6");
    const auto& same_rail = j["routes"][0];
    const auto& cross_rail = j["routes"][1];
    CHECK(same_rail["bandwidth_bytes_s"].get<double>() == Approx(25e9));
    // Per side: GPU PCIe 0.35 + NIC 0.6 (incl. its PCIe) + half the 130 ns leaf hop.
    CHECK(same_rail["latency_s"].get<double>() == Approx(2 * (0.35 + 0.6 + 0.065) * 1e-6));
    // Plus two leaf uplinks of one switch hop each (leaf -> spine -> leaf).
    CHECK(cross_rail["latency_s"].get<double>() == Approx((2 * (0.35 + 0.6 + 0.065) + 2 * 0.13) * 1e-6));
    CHECK_THAT(cross_rail["links"].dump(),
               Catch::Contains("rail2-leaf0-uplink_UP") && Catch::Contains("rail6-leaf0-uplink_DOWN"));
  }
}

TEST_CASE("two flows over one shared inter-node link take twice as long as one", "[platform][contention]") {
  const std::string file = two_dgx_a100(false);
  const long long bytes = 1'000'000'000;
  const std::string b = " " + std::to_string(bytes);
  // Alone: 1 GB over the 25 GB/s NIC, plus the route latency.
  const auto alone = check(file + " --flow node0-gpu0 node1-gpu0" + b)["flows"][0]["finish_s"].get<double>();
  CHECK(alone == Approx(bytes / 25e9 + 2.03e-6));
  // Both flows end at node1-gpu0's NIC: its inbound half is shared.
  const auto shared =
      check(file + " --flow node0-gpu0 node1-gpu0" + b + " --flow node0-gpu1 node1-gpu0" + b)["flows"];
  CHECK(shared[0]["finish_s"].get<double>() == Approx(2 * alone).epsilon(0.01));
  CHECK(shared[1]["finish_s"].get<double>() == Approx(2 * alone).epsilon(0.01));
  // Control: disjoint NICs do not slow each other down, and opposite directions use separate halves.
  const auto disjoint =
      check(file + " --flow node0-gpu0 node1-gpu0" + b + " --flow node0-gpu1 node1-gpu1" + b +
            " --flow node1-gpu2 node0-gpu2" + b + " --flow node0-gpu2 node1-gpu2" + b)["flows"];
  for (const auto& f : disjoint) CHECK(f["finish_s"].get<double>() == Approx(alone).epsilon(0.01));
}

TEST_CASE("128 nodes x 8 GPUs: loads and resolves a ring over all 1024 GPUs quickly", "[platform]") {
  const std::string path = temp_path("128x8.xml");
  const auto r =
      run_zerosim("platform --gpu h100-80gb-sxm --nodes 128 --gpus-per-node 8 --inter ib-ndr400 -o " + path);
  REQUIRE(r.exit_code == 0);
  const auto j = check(path + " --gpus 1024 --ring --route node0-gpu0 node127-gpu7");
  CHECK(j["hosts"] == 1024);
  CHECK(j["ring"]["routes"] == 1024);
  // Measured ~0.04 s load + ~0.3 s ring routes on one core; the bound leaves room for a loaded machine.
  CHECK(j["load_s"].get<double>() + j["ring"]["resolve_s"].get<double>() < 3.0);
  CHECK(j["routes"][0]["bandwidth_bytes_s"].get<double>() == Approx(50e9));
}

TEST_CASE("platform: bad input is exit 2 naming the file or flag", "[platform][errors]") {
  SECTION("missing file") {
    const auto r = run_zerosim("platform --check /nonexistent/cluster.xml");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("/nonexistent/cluster.xml") && Catch::Contains("not found"));
  }
  SECTION("not XML") {
    const std::string path = write_temp("not-xml.xml", "cluster: {gpus: 8}\n");
    const auto r = run_zerosim("platform --check " + path);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(path) && Catch::Contains("not a well-formed XML"));
  }
  SECTION("disconnected GPU hosts") {
    const std::string path =
        write_temp("disconnected.xml",
                   "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                   "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
                   "<host id=\"g0\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                   "<host id=\"g1\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                   "<host id=\"g2\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                   "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>"
                   "<route src=\"g0\" dst=\"g1\"><link_ctn id=\"l\"/></route></zone></platform>\n");
    const auto r = run_zerosim("platform --check " + path);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(path) && Catch::Contains("cannot be reached") && Catch::Contains("g2"));
  }
  SECTION("fewer GPU hosts than requested") {
    const auto r = run_zerosim("platform --check platforms/dgx-a100.xml --gpus 16");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("platforms/dgx-a100.xml") && Catch::Contains("8 GPU host(s), but 16"));
  }
  SECTION("unknown value names the flag and the allowed values") {
    const auto r = run_zerosim("platform --gpu a100-80gb-sxm --nodes 1 --gpus-per-node 8 --intra nvswitchx");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--intra") && Catch::Contains("{nvswitch,nvlink-bridge,pcie}"));
    const auto g = run_zerosim("platform --gpu a100 --nodes 1 --gpus-per-node 8");
    CHECK(g.exit_code == 2);
    CHECK_THAT(g.err, Catch::Contains("--gpu") && Catch::Contains("a100-80gb-sxm"));
    const auto n = run_zerosim("platform --gpu a100-80gb-sxm --nodes 0 --gpus-per-node 8");
    CHECK(n.exit_code == 2);
    CHECK_THAT(n.err, Catch::Contains("--nodes"));
  }
  SECTION("hardware that cannot exist names the flag") {
    const auto none = run_zerosim("platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter none");
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("--inter") && Catch::Contains("single node"));
    const auto sxm = run_zerosim("platform --gpu rtx-3090 --nodes 1 --gpus-per-node 2 --intra nvswitch");
    CHECK(sxm.exit_code == 2);
    CHECK_THAT(sxm.err, Catch::Contains("--intra") && Catch::Contains("NVSwitch"));
  }
  SECTION("missing required flag") {
    const auto r = run_zerosim("platform --nodes 1 --gpus-per-node 8");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--gpu"));
    const auto gpn = run_zerosim("platform --gpu a100-80gb-sxm --nodes 1");
    CHECK(gpn.exit_code == 2);
    CHECK_THAT(gpn.err, Catch::Contains("--gpus-per-node") && Catch::Contains("is required"));
  }
  SECTION("unknown option") {
    const auto r = run_zerosim("platform --gpu a100-80gb-sxm --nodes 1 --gpus-per-node 8 --bogus");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--bogus"));
  }
  SECTION("--route takes two hosts, --flow a positive byte count") {
    const auto route = run_zerosim("platform --check platforms/dgx-a100.xml --route node0-gpu0");
    CHECK(route.exit_code == 2);
    CHECK_THAT(route.err, Catch::Contains("--route"));
    const auto flow = run_zerosim("platform --check platforms/dgx-a100.xml --flow node0-gpu0 node0-gpu1 0");
    CHECK(flow.exit_code == 2);
    CHECK_THAT(flow.err, Catch::Contains("--flow") && Catch::Contains("not in range 1"));
  }
  SECTION("a host the platform lacks names the file") {
    const auto r = run_zerosim("platform --check platforms/dgx-a100.xml --route node0-gpu0 node9-gpu0");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("platforms/dgx-a100.xml") && Catch::Contains("node9-gpu0"));
  }
}

TEST_CASE("platform: --route and --flow repeat, each occurrence its own pair or flow", "[platform]") {
  const auto j = check(
      "platforms/dgx-a100.xml --route node0-gpu0 node0-gpu1 --flow node0-gpu0 node0-gpu1 1000 "
      "--route node0-gpu2 node0-gpu3 --flow node0-gpu4 node0-gpu5 2000");
  REQUIRE(j["routes"].size() == 2);
  CHECK(j["routes"][1]["src"] == "node0-gpu2");
  CHECK(j["routes"][1]["dst"] == "node0-gpu3");
  REQUIRE(j["flows"].size() == 2);
  CHECK(j["flows"][1]["src"] == "node0-gpu4");
  CHECK(j["flows"][1]["bytes"] == 2000);
}

TEST_CASE("platform: the last of --no-rail-optimized / --rail-optimized wins", "[platform]") {
  const std::string base = "platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter ib-hdr200";
  const auto rail = run_zerosim(base + " --no-rail-optimized --rail-optimized");
  REQUIRE(rail.exit_code == 0);
  CHECK_THAT(rail.out, Catch::Contains("<router id=\"rail0-leaf0\"/>"));
  const auto flat = run_zerosim(base + " --rail-optimized --no-rail-optimized");
  REQUIRE(flat.exit_code == 0);
  CHECK_THAT(flat.out, Catch::Contains("<router id=\"leaf0\"/>") && !Catch::Contains("rail0-leaf0"));
}
