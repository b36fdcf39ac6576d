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
                        Catch::Contains("ib-ndr400") && Catch::Contains("--no-rail-optimized") &&
                        Catch::Contains("--host-memory-gib") && Catch::Contains("pcie-server-2s") &&
                        Catch::Contains("--pcie-gen"));
}

TEST_CASE("platform writes XML to stdout that SimGrid loads", "[platform]") {
  const auto r = run_zerosim("platform --gpu h100-80gb-sxm --nodes 2 --gpus-per-node 4 --inter ib-ndr400");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("<?xml") && Catch::Contains("<platform version=\"4.1\">"));
  const std::string path = write_temp("stdout.xml", r.out);
  const auto j = check(path + " --gpus 8");
  CHECK(j["hosts"] == 8 + 2 * 2);  // and a CPU host per socket: a DGX H100 node has 2
  CHECK(j["cpu_hosts"] == 4);
  CHECK(j["rank_hosts"][5] == "node1-gpu1");  // node-major: rank = node * gpus_per_node + local_rank
  // GPUs 0-1 of a node on socket 0, 2-3 on socket 1 (an even split of the DGX H100's 2 sockets).
  CHECK(j["rank_cpu_hosts"][5] == "node1-cpu0-host");
  CHECK(j["rank_cpu_hosts"][6] == "node1-cpu1-host");
}

TEST_CASE("every bundled platform loads in SimGrid with its GPUs", "[platform]") {
  struct Bundled {
    std::string file;
    int gpus, sockets;
  };
  const std::vector<Bundled> bundled = {{"platforms/dgx-a100.xml", 8, 2},
                                        {"platforms/dgx-h100.xml", 8, 2},
                                        {"platforms/workstation-2x3090-pcie.xml", 2, 1},
                                        {"platforms/workstation-2x3090-nvlink.xml", 2, 1},
                                        {"platforms/server-4xa100-pcie.xml", 4, 2}};
  for (const auto& b : bundled) {
    INFO(b.file);
    const auto j = check(b.file + " --ring");
    CHECK(j["hosts"] == b.gpus + b.sockets);
    CHECK(j["gpu_hosts"] == b.gpus);
    CHECK(j["cpu_hosts"] == b.sockets);
    CHECK(j["ring"]["routes"] == b.gpus);
    CHECK(j["notes"].empty());
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
  CHECK(j["hosts"] == 1024 + 128 * 2);  // and 2 CPU hosts per node
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

TEST_CASE("platform: the host flags write the CPU side that --check reads back", "[platform][host]") {
  const std::string path = temp_path("host-flags.xml");
  const auto r = run_zerosim(
      "platform --gpu a100-80gb-sxm --nodes 1 --gpus-per-node 8 --inter none --host dgx-a100 "
      "--host-memory-gib 512 --host-cpu-cores 96 --pcie-gen 5 -o " +
      path);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string xml = zerosim::testing::read_file(path);
  // 512 GiB = 549755813888 bytes per node; 96 cores over 2 sockets = 48 per CPU host.
  CHECK_THAT(xml, Catch::Contains("<prop id=\"host_memory_bytes\" value=\"549755813888\"/>") &&
                      Catch::Contains("<prop id=\"pcie_gen\" value=\"5\"/>") &&
                      Catch::Contains("<host id=\"node0-cpu1-host\" speed=\"50000000f\" core=\"48\">") &&
                      Catch::Contains("<prop id=\"memory_bytes\" value=\"274877906944\"/>"));
  const auto j = check(path + " --route node0-gpu1 node0-cpu0-host");
  CHECK(j["cpu_hosts"] == 2);
  CHECK(j["notes"].empty());
  const auto& route = j["routes"][0];
  // PCIe 5.0 x16 = 32 GT/s x 16 x 128/130 / 8 = 63.0154 GB/s on the GPU link and the shared uplink.
  CHECK(route["bandwidth_bytes_s"].get<double>() == Approx(32e9 * 16 * 128 / 130 / 8));
  // pcie 0.35 + switch uplink 0.105 + root complex 0.15 + memory 0.1 us.
  CHECK(route["latency_s"].get<double>() == Approx(0.705e-6));
  CHECK_THAT(route["links"].dump(),
             Catch::Contains("node0-pciesw0-uplink") && Catch::Contains("node0-cpu0-mem"));
}

TEST_CASE("platform: GPUs behind one PCIe switch share its uplink to the CPU, a workstation's do not",
          "[platform][host][contention]") {
  const long long bytes = 1'000'000'000;
  const std::string b = " " + std::to_string(bytes);
  const double gen4 = 16e9 * 16 * 128 / 130 / 8;  // 31.5077 GB/s
  // DGX A100: GPUs 0 and 1 behind PCIe switch 0, one x16 Gen4 uplink: both copies at half the rate.
  const auto shared = check("platforms/dgx-a100.xml --flow node0-gpu0 node0-cpu0-host" + b +
                            " --flow node0-gpu1 node0-cpu0-host" + b)["flows"];
  CHECK(shared[0]["finish_s"].get<double>() == Approx(2 * bytes / gen4).epsilon(0.001));
  CHECK(shared[1]["finish_s"].get<double>() == Approx(2 * bytes / gen4).epsilon(0.001));
  // GPUs 0 and 2 are behind different switches: each copy at the full x16 rate.
  const auto apart = check("platforms/dgx-a100.xml --flow node0-gpu0 node0-cpu0-host" + b +
                           " --flow node0-gpu2 node0-cpu0-host" + b)["flows"];
  CHECK(apart[0]["finish_s"].get<double>() == Approx(bytes / gen4).epsilon(0.001));
  // Workstation: each GPU on its own x16 to the one CPU, no switch. Alone a copy runs at the x16 rate
  // (31.5 < 40 GB/s of memory); two at once share the socket's 40 GB/s memory link (hosts.yaml).
  const auto alone = check(
      "platforms/workstation-2x3090-pcie.xml --route node0-gpu1 node0-cpu0-host --flow "
      "node0-gpu1 node0-cpu0-host" +
      b);
  CHECK_THAT(alone["routes"][0]["links"].dump(),
             !Catch::Contains("uplink") && Catch::Contains("node0-cpu0-rc"));
  CHECK(alone["flows"][0]["finish_s"].get<double>() == Approx(bytes / gen4).epsilon(0.001));
  const auto both = check("platforms/workstation-2x3090-pcie.xml --flow node0-gpu0 node0-cpu0-host" + b +
                          " --flow node0-gpu1 node0-cpu0-host" + b)["flows"];
  CHECK(both[1]["finish_s"].get<double>() == Approx(bytes / 20e9).epsilon(0.001));
}

TEST_CASE("platform --check: a platform without CPU hosts is accepted with a note", "[platform][host]") {
  const std::string path =
      write_temp("no-cpu.xml",
                 "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                 "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
                 "<host id=\"g0\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                 "<host id=\"g1\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                 "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>"
                 "<route src=\"g0\" dst=\"g1\"><link_ctn id=\"l\"/></route></zone></platform>\n");
  const auto r = run_zerosim("platform --check " + path);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["cpu_hosts"] == 0);
  CHECK(j["rank_cpu_hosts"] == nlohmann::json::array({"", ""}));
  REQUIRE(j["notes"].size() == 1);
  CHECK_THAT(j["notes"][0].get<std::string>(),
             Catch::Contains("dedicated PCIe Gen4 x16 per GPU") && Catch::Contains("'dgx-a100'"));
  CHECK_THAT(r.err, Catch::StartsWith("zerosim: note: no CPU hosts"));
}

TEST_CASE("platform: bad host flags are exit 2 naming the flag and the allowed values",
          "[platform][errors]") {
  const std::string base = "platform --gpu a100-80gb-sxm --nodes 1 --gpus-per-node 8 --inter none ";
  const auto host = run_zerosim(base + "--host dgx-b200");
  CHECK(host.exit_code == 2);
  CHECK_THAT(host.err, Catch::Contains("--host") && Catch::Contains("workstation"));
  const auto cores = run_zerosim(base + "--host-cpu-cores 127");
  CHECK(cores.exit_code == 2);
  CHECK_THAT(cores.err, Catch::Contains("zerosim platform: key '--host-cpu-cores'") &&
                            Catch::Contains("a multiple of 2, e.g. 126 or 128"));
  const auto gen = run_zerosim(base + "--pcie-gen 6");
  CHECK(gen.exit_code == 2);
  CHECK_THAT(gen.err, Catch::Contains("--pcie-gen") && Catch::Contains("auto"));
  const auto memory = run_zerosim(base + "--host-memory-gib 0");
  CHECK(memory.exit_code == 2);
  CHECK_THAT(memory.err, Catch::Contains("--host-memory-gib"));
}

TEST_CASE("platform --check: a malformed CPU host is exit 2 naming the host", "[platform][errors]") {
  auto with_cpu = [](const std::string& cpu) {
    return "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
           "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
           "<host id=\"g0\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>" +
           cpu +
           "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>"
           "<route src=\"g0\" dst=\"c0\"><link_ctn id=\"l\"/></route></zone></platform>\n";
  };
  const auto bad_prop =
      run_zerosim("platform --check " +
                  write_temp("cpu-bad-prop.xml",
                             with_cpu("<host id=\"c0\" speed=\"50Mf\" core=\"16\"><prop id=\"kind\" "
                                      "value=\"cpu\"/><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>")));
  CHECK(bad_prop.exit_code == 2);
  CHECK_THAT(bad_prop.err, Catch::Contains("host 'c0'") && Catch::Contains("not a CPU host property") &&
                               Catch::Contains("cpu_adam_elements_per_s_per_core"));
  const auto cores = run_zerosim(
      "platform --check " +
      write_temp("cpu-bad-cores.xml", with_cpu("<host id=\"c0\" speed=\"50Mf\" core=\"16\"><prop id=\"kind\" "
                                               "value=\"cpu\"/><prop id=\"cores\" value=\"32\"/></host>")));
  CHECK(cores.exit_code == 2);
  CHECK_THAT(cores.err, Catch::Contains("host 'c0'") && Catch::Contains("core=\"16\""));
  const auto good = run_zerosim(
      "platform --check " +
      write_temp("cpu-good.xml", with_cpu("<host id=\"c0\" speed=\"50Mf\" core=\"16\"><prop id=\"kind\" "
                                          "value=\"cpu\"/></host>")));
  INFO(good.err);
  CHECK(good.exit_code == 0);
  CHECK(nlohmann::json::parse(good.out)["rank_cpu_hosts"][0] == "c0");
}
