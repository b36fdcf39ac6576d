// zerosim collective: ring collectives on the simulated platform against the closed-form ring cost,
// the pipelined ring against a step-by-step ring, and link contention.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "integration/collective_results.h"
#include "unit/test_support.h"

using zerosim::testing::collective;
using zerosim::testing::run_zerosim;
using zerosim::testing::seconds_at;
using zerosim::testing::source_path;

namespace {

// The engine's documented NCCL model (sim/engine.h CommModel): 80% of link rate, 5 µs launch,
// 2 µs per ring step on top of the route latency.
constexpr double kEfficiency = 0.80, kLaunch = 5e-6, kStep = 2e-6;
// DGX A100 NVSwitch (platforms/interconnect.yaml): 300 GB/s per GPU per direction; route latency
// GPU port 0.2 µs + switch 0.1 µs + GPU port 0.2 µs = 0.5 µs.
constexpr double kNvlinkBps = 300e9, kRouteLatency = 0.5e-6;
// The published 8x H100 NVLS all-reduce curve in all_reduce_perf's layout (for --compare).
constexpr const char* kH100AllReduceLog = "tests/data/nccl-tests/h100x8-all_reduce.log";

}  // namespace

TEST_CASE("ring collectives on a uniform NVSwitch node match the ring cost formula within 2%",
          "[engine][collective]") {
  const int64_t S = 1LL << 30;  // 1 GiB
  const double n = 8;
  struct Case {
    const char* op;
    double volume_factor;  // bytes each rank sends, as a multiple of S
    double steps;
  };
  for (const Case& c : {Case{"all_reduce", 2 * (n - 1) / n, 2 * (n - 1)},
                        Case{"all_gather", (n - 1) / n, n - 1}, Case{"reduce_scatter", (n - 1) / n, n - 1}}) {
    const auto j =
        collective(std::string("--cluster gpu=a100-80gb-sxm,gpus=8,gpus_per_node=8,intra=nvswitch --op ") +
                   c.op + " -b 1G -e 1G");
    // all_reduce: 2·7/8·2^30 B / (0.8 · 300e9 B/s) = 7.83 ms, plus 14 ring steps of (0.5 + 2) µs and the
    // launch.
    const double expected = c.volume_factor * static_cast<double>(S) / (kEfficiency * kNvlinkBps) + kLaunch +
                            c.steps * (kRouteLatency + kStep);
    INFO(c.op);
    CHECK(seconds_at(j, S) == Approx(expected).epsilon(0.02));
  }
}

TEST_CASE("the pipelined ring (N flows) agrees with a step-by-step ring (N flows per step)",
          "[engine][collective]") {
  // Two nodes of 4 GPUs: intra-node NVLink hops and one InfiniBand hop per ring direction.
  const std::string where =
      "--cluster gpu=a100-80gb-sxm,gpus=8,gpus_per_node=4,inter=ib-hdr200 --op all_reduce -b 64M -e 256M -f "
      "4 --algo ring";
  const auto pipelined = collective(where);
  const auto stepwise = collective(where + " --ring stepwise");
  CHECK(stepwise["flows"].get<int64_t>() == pipelined["flows"].get<int64_t>() * 14);  // 2(N−1) = 14 rounds
  for (int64_t size : {64LL << 20, 256LL << 20})
    CHECK(seconds_at(pipelined, size) == Approx(seconds_at(stepwise, size)).epsilon(0.02));
}

TEST_CASE("two collectives sharing an inter-node link take longer than one alone", "[engine][contention]") {
  // One GPU per node: both rings cross the same NIC links.
  const std::string where =
      "--cluster gpu=a100-80gb-sxm,gpus=2,gpus_per_node=1,inter=ib-hdr200 --op all_reduce -b 1G -e 1G --algo "
      "ring";
  const double alone = seconds_at(collective(where), 1LL << 30);
  const double shared = seconds_at(collective(where + " --concurrent 2"), 1LL << 30);
  CHECK(shared > 1.9 * alone);  // bandwidth-bound: max-min sharing halves each ring's rate
  // HDR 25 GB/s at the fabric's NCCL net efficiency 0.94 (platforms/interconnect.yaml):
  // 2·1/2·2^30 B / 23.5e9 B/s = 45.7 ms alone.
  CHECK(alone == Approx(static_cast<double>(1LL << 30) / (0.94 * 25e9)).epsilon(0.02));
}

TEST_CASE("nccl-tests columns: busbw = algbw x 2(n-1)/n for all_reduce", "[collective]") {
  const auto j = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce -b 1M -e 4M");
  for (const auto& row : j["results"]) {
    const double algbw =
        static_cast<double>(row["size_bytes"].get<int64_t>()) / row["time_s"].get<double>() / 1e9;
    CHECK(row["algbw_gbps"].get<double>() == Approx(algbw));
    CHECK(row["busbw_gbps"].get<double>() == Approx(algbw * 2.0 * 7.0 / 8.0));
  }
}

TEST_CASE("2x RTX 3090 on PCIe (no peer-to-peer) runs as fast as 2x A100 PCIe (docs/platforms.md)",
          "[engine][collective]") {
  // NCCL's SHM path for cards without P2P crosses the same two PCIe 4.0 x16 links (31.5077 GB/s each
  // way) as a P2P pair behind the host bridge, and NCCL uses SHM there for both GPUs on Intel hosts.
  const std::string args = " --op all_reduce -b 1G -e 1G";
  const auto geforce = collective("--cluster gpu=rtx-3090,gpus=2,intra=pcie" + args);
  const auto a100 = collective("--cluster gpu=a100-80gb-pcie,gpus=2,intra=pcie" + args);
  const int64_t S = 1LL << 30;
  CHECK(seconds_at(geforce, S) == seconds_at(a100, S));
  // 2 ranks: 2·1/2·2^30 B / (0.8 · 31.5077e9 B/s) = 42.6 ms, plus 2 ring steps of (1.0 + 2) µs and the
  // launch.
  const double pcie4 = 16e9 * 16 * 128.0 / 130.0 / 8.0;
  const double expected = static_cast<double>(S) / (kEfficiency * pcie4) + kLaunch + 2 * (1.0e-6 + kStep);
  CHECK(seconds_at(geforce, S) == Approx(expected).epsilon(0.02));
}

TEST_CASE("collective: bad input is exit 2 naming the flag", "[collective][errors]") {
  auto r = run_zerosim("collective --cluster gpu=a100-80gb-sxm,gpus=8 --op all_to_all");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--op") && Catch::Contains("all_gather"));
  r = run_zerosim("collective --cluster gpu=b200,gpus=8 --op all_reduce");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("cluster.gpu") && Catch::Contains("a100-80gb-sxm"));
  r = run_zerosim("collective --cluster gpu=a100-80gb-sxm,gpus=8 -b 1X");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("-b"));
}

TEST_CASE("multi-node all-reduce: NCCL's tree where it is faster, the ring where bandwidth wins",
          "[engine][collective][tree]") {
  // 2 DGX A100 nodes: the tree's latency is 2·((G−1) + log2 nodes) = 16 steps against the ring's
  // 2(n−1) = 30, and with two nodes each NIC carries S/G against the ring's 2(n−1)/n·S/G, so the tree
  // wins at every size (as NCCL finds on two DGX A100, NVIDIA/nccl#812).
  const auto two = collective("--cluster gpu=a100-80gb-sxm,gpus=16 --op all_reduce -b 1M -e 1G -f 32");
  for (const auto& row : two["results"]) CHECK(row["algorithm"] == "tree");
  // 8 DGX H100 nodes: NVLSTree (NVLS in the node: no intra-node chain steps) is fastest at
  // 1 MiB; interior nodes of the double binary tree carry 2S/G per NIC, like the ring, but at NCCL's 0.92
  // tree rate, so the ring takes over once its 2(n−1) = 126 step latencies are paid off.
  const std::string h100x64 = "--cluster gpu=h100-80gb-sxm,gpus=64 --op all_reduce";
  const auto eight = collective(h100x64 + " -b 1M -e 4G -f 4096");
  CHECK(eight["results"][0]["algorithm"] == "nvlstree");
  CHECK(eight["results"][1]["algorithm"] == "ring");
  const auto eight_tree = collective(h100x64 + " -b 1M -e 1M --algo tree");
  CHECK(eight_tree["results"][0]["algorithm"] == "tree");
  CHECK(seconds_at(eight_tree, 1 << 20) > seconds_at(eight, 1 << 20));
  // Other collectives have no tree in NCCL: a forced one runs the ring in 2.19.3-2.24.2, fails after.
  const std::string ag_tree = "--cluster gpu=a100-80gb-sxm,gpus=16 --op all_gather -b 1M -e 1M --algo tree";
  CHECK(collective(ag_tree + " --nccl 2.23.4")["results"][0]["algorithm"] == "ring");
  CHECK(run_zerosim("collective " + ag_tree).exit_code == 2);
  // --algo forces one, as NCCL_ALGO does.
  const auto forced =
      collective("--cluster gpu=a100-80gb-sxm,gpus=16 --op all_reduce -b 1M -e 1M --algo ring");
  CHECK(forced["results"][0]["algorithm"] == "ring");
  CHECK(seconds_at(forced, 1 << 20) > seconds_at(two, 1 << 20));  // 30 ring steps against 16 tree steps
}

TEST_CASE(
    "collective --algo nvls forces NVLS where it can run; where it cannot, the ring or a failed call, as in "
    "NCCL",
    "[engine][collective][nvls]") {
  // 1 GB on 8 H100: NVLS moves (1 + 1/8)·S per direction against the ring's 2·7/8·S.
  const auto ring = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce -b 1G -e 1G --algo ring");
  CHECK(ring["results"][0]["algorithm"] == "ring");
  const auto nvls = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce -b 1G -e 1G --algo nvls");
  CHECK(nvls["results"][0]["algorithm"] == "nvls");
  CHECK(seconds_at(nvls, 1LL << 30) < seconds_at(ring, 1LL << 30));
  // NCCL also has an NVLS all_gather, which zerosim does not model: a forced one is refused, not a ring.
  const auto ag =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --op all_gather -b 1G -e 1G --algo nvls");
  CHECK(ag.exit_code == 2);
  // A100's NVSwitch has no SHARP: NCCL_ALGO=NVLS there leaves NCCL its ring in 2.19.3-2.24.2 only.
  const std::string a100 = "--cluster gpu=a100-80gb-sxm,gpus=8 --op all_reduce -b 1G -e 1G --algo nvls";
  CHECK(collective(a100 + " --nccl 2.24.2")["results"][0]["algorithm"] == "ring");
  CHECK(run_zerosim("collective " + a100).exit_code == 2);
}

TEST_CASE("simulate: stage 0 on two nodes moves the tree all-reduce volume", "[engine][simulate][tree]") {
  // Rank 0 (node 0, GPU 0) sends (G−1)/G·S to each chain neighbour and 1/(2G)·S to node 1 in each of the
  // two trees (down in tree 0 where node 0 is the root, up in tree 1 where node 1 is): with G = 8,
  // 2·7/8 + 2/16 = 1.875 of the gradient buffer, S = Ψt · 2 B (bf16) per bucket; Ψt = 8,650,752 (DoRA
  // r=16 on q,v) fits in one bucket.
  const auto r = run_zerosim(
      "simulate --config workloads/configs/seed-dora-7b.yaml --set zero.stage=0 "
      "--set cluster.gpu=a100-80gb-sxm --set cluster.gpus=16 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out)["time"];
  CHECK(j["algorithms"]["tree"].get<int64_t>() == j["collectives_per_rank"].get<int64_t>());
  CHECK(j["comm_bytes_per_rank"].get<double>() == Approx(1.875 * 8650752 * 2).epsilon(1e-6));
  // cluster.nccl_algo: ring (NCCL_ALGO=Ring in the job's environment) runs the rings instead: the same
  // 2(n−1)/n = 1.875 of the buffer per rank, split 7/8 over NVLink and 1/8 over the NIC.
  const auto ring = run_zerosim(
      "simulate --config workloads/configs/seed-dora-7b.yaml --set zero.stage=0 "
      "--set cluster.gpu=a100-80gb-sxm --set cluster.gpus=16 --set cluster.nccl_algo=ring "
      "--format json");
  REQUIRE(ring.exit_code == 0);
  const auto rj = nlohmann::json::parse(ring.out)["time"];
  CHECK(rj["algorithms"]["ring"].get<int64_t>() == rj["collectives_per_rank"].get<int64_t>());
  CHECK(rj["algorithms"]["tree"].get<int64_t>() == 0);
  CHECK(rj["comm_bytes_per_rank"].get<double>() == Approx(1.875 * 8650752 * 2).epsilon(1e-6));
}

TEST_CASE("NVLS all-reduce time: wire at nvls_efficiency plus one synchronisation per NCCL chunk",
          "[engine][collective][nvls]") {
  // 8x H100 SXM (NVLink4 450 GB/s per direction), 64 MiB forced NVLS. NCCL 2.18's chunk rule with
  // 16 channels x 8 heads = 128 concurrent operations: 64 MiB >= 8·128·64 KiB, so 64 KiB chunks and
  // 64 MiB / (128 · 64 KiB) = 8 rounds, each with 2 handshakes of 2 µs = 32 µs.
  // Wire: (1 + 1/8) · 64 MiB / (0.734 · 450e9 B/s) = 75,497,472 / 330.3e9 = 228.6 µs.
  // Fixed: launch 5 µs + NCCL's NVLS latency 25 µs. Pipeline fill: the first loop, 128 · 64 KiB = 8 MiB,
  // through NVLS's stages beyond the steady state's share: 1.125 · 8,388,608 / 330.3e9 = 28.6 µs.
  // Total 319.2 µs (plus 0.5 µs of route latency); published 324.6 µs (361.8 GB/s busbw).
  const auto j = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce -b 64M -e 64M --algo nvls");
  CHECK(j["results"][0]["algorithm"] == "nvls");
  CHECK(seconds_at(j, 64LL << 20) == Approx(319.7e-6).epsilon(0.005));
  // 8 GiB: 128 KiB chunks, 8 GiB / (128 · 128 KiB) = 512 rounds = 2.048 ms of synchronisation;
  // wire 1.125 · 8 GiB / 330.3e9 = 29.26 ms; fill 1.125 · 16 MiB / 330.3e9 = 57 µs; total 31.39 ms
  // (published: 31.39 ms, 478.9 GB/s busbw).
  const auto big = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce -b 8G -e 8G --algo nvls");
  CHECK(seconds_at(big, 8LL << 30) == Approx(31.39e-3).epsilon(0.002));
}

TEST_CASE("collective --compare puts a user's nccl-tests run beside the simulated curve",
          "[collective][compare]") {
  const std::string log = source_path(kH100AllReduceLog);
  const auto j =
      collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce --algo nvls --compare " + log);
  // The file's 19 sizes (1 KiB to 8 GiB), simulated, each with the file's in-place busbw and the error.
  REQUIRE(j["results"].size() == 19);
  const auto& at64 = j["results"][11];
  CHECK(at64["size_bytes"] == 67108864);
  CHECK(at64["measured_busbw_gbps"].get<double>() == Approx(361.78));
  CHECK(at64["error"].get<double>() == Approx(at64["busbw_gbps"].get<double>() / 361.78 - 1));
  CHECK(j["compare"]["column"] == "in-place");
  CHECK(j["compare"]["sizes_min_64mib"] == 8);
  // The validation bar: within ±15% from 64 MiB up, so the mean there is well inside it.
  CHECK(j["compare"]["mape_min_64mib"].get<double>() < 0.15);
  // The out-of-place column of this file is 97% of the in-place one.
  const auto out = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce --algo nvls --compare " +
                              log + " --compare-column out-of-place");
  CHECK(out["results"][11]["measured_busbw_gbps"].get<double>() == Approx(0.97 * 361.78).epsilon(0.001));
  // The table carries the same comparison.
  const auto table = run_zerosim(
      "collective --cluster gpu=h100-80gb-sxm,gpus=8 --op all_reduce --algo nvls --compare " + log);
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("nccl-tests") && Catch::Contains("over the 8 of at least 64 MiB"));
}

TEST_CASE("collective --compare: bad files and conflicting options exit 2 with the reason",
          "[collective][compare][errors]") {
  const std::string log = source_path(kH100AllReduceLog);
  const auto missing =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --compare /nonexistent/run.log");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/run.log"));
  const auto not_a_log = run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --compare " +
                                     source_path("platforms/dgx-h100.xml"));
  CHECK(not_a_log.exit_code == 2);
  CHECK_THAT(not_a_log.err, Catch::Contains("no nccl-tests result rows"));
  const auto sizes = run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --compare " + log + " -b 1M");
  CHECK(sizes.exit_code == 2);
  CHECK_THAT(sizes.err, Catch::Contains("drop -b/-e/-f"));
  const auto column =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --compare-column out-of-place");
  CHECK(column.exit_code == 2);
  CHECK_THAT(column.err, Catch::Contains("--compare FILE"));
}

TEST_CASE("collective --compare refuses a run on another GPU count than simulated",
          "[collective][compare][errors]") {
  // The file's device list has 8 ranks; busbw factors (2(n-1)/n) and the curve itself depend on n.
  const std::string log = source_path(kH100AllReduceLog);
  const auto r =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=16 --op all_reduce --compare " + log);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("8 ranks") && Catch::Contains("16 GPUs"));
}

TEST_CASE("collective --compare simulates the file's collective, and refuses a contradicting --op",
          "[collective][compare][errors]") {
  const std::string log = source_path(kH100AllReduceLog);
  // The fixture says "Collective test starting: all_reduce_perf": without --op that is what runs.
  const auto j = collective("--cluster gpu=h100-80gb-sxm,gpus=8 --algo nvls --compare " + log);
  CHECK(j["op"] == "all_reduce");
  const auto wrong =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --op all_gather --compare " + log);
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Catch::Contains("all_reduce_perf output") && Catch::Contains("--op all_reduce"));
}

TEST_CASE("collective --compare refuses an all_gather-style table (redop 'none') as all_reduce",
          "[collective][compare][errors]") {
  // Older nccl-tests print no "Collective test starting" line; redop 'none' still says it is no all-reduce.
  const zerosim::testing::TempDir dir;
  const std::string log = dir.write(
      "ag.log",
      "#  Rank  0 Group  0 Pid 1 on n device  0 [0x00] NVIDIA H100 80GB HBM3\n"
      "#  Rank  1 Group  0 Pid 1 on n device  1 [0x00] NVIDIA H100 80GB HBM3\n"
      "  1073741824  134217728  float  none  -1  6010.0  178.66  89.33  0  6000.0  178.96  89.48  0\n");
  const auto r = run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=2 --compare " + log);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("redop 'none'"));
  // With the collective named, the same file compares.
  const auto ok = collective("--cluster gpu=h100-80gb-sxm,gpus=2 --op all_gather --compare " + log);
  CHECK(ok["results"].size() == 1);
  CHECK(ok["results"][0]["measured_busbw_gbps"].get<double>() == Approx(89.48));
}

TEST_CASE("collective --platform without --gpus runs on all of the file's GPU hosts",
          "[collective][platform]") {
  // The DGX A100 file has 8 GPU hosts; --gpus picks the first N of them.
  const auto all = collective("--platform " + source_path("platforms/dgx-a100.xml") + " -b 1G -e 1G");
  CHECK(all["gpus"] == 8);
  REQUIRE(all["results"].size() == 1);
  CHECK(all["results"][0]["busbw_gbps"].get<double>() > 0);
  const auto four =
      collective("--platform " + source_path("platforms/dgx-a100.xml") + " --gpus 4 -b 1G -e 1G");
  CHECK(four["gpus"] == 4);
}
