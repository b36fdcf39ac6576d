// Networks as clusters are built (docs/platforms.md, "NICs as built"): NICs shared by the GPUs nearest
// them, NIC line rates, leaf oversubscription, NCCL's efficiency over the network, and NVLSTree between
// NVLS-capable nodes; through `zerosim collective` and `zerosim platform`, with bad values refused.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "integration/collective_results.h"
#include "unit/test_support.h"

using zerosim::testing::busbw_at;
using zerosim::testing::collective;
using zerosim::testing::run_zerosim;
using zerosim::testing::seconds_at;

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

}  // namespace

TEST_CASE("3 x 8 A100 with 4 HDR NICs per node all-reduce at about half the 8-NIC rate", "[network][nics]") {
  const std::string base = "--cluster gpu=a100-80gb-sxm,gpus=24,gpus_per_node=8,inter=ib-hdr200";
  const auto eight = collective(base + " -b 4G -e 4G --algo ring");
  const auto four = collective(base + ",nics_per_node=4 -b 4G -e 4G --algo ring");
  // Ring busbw across nodes is the node's NIC bandwidth at NCCL's net efficiency: 8 x 25 GB/s x 0.94 =
  // 188 GB/s with a NIC per GPU, 4 x 25 x 0.94 = 94 GB/s when GPUs 2k and 2k+1 share NIC k (the
  // ~96 GB/s peak nccl-tests issue #119 reports on 3 x 8 A100 with 4 HDR NICs per node).
  CHECK(busbw_at(eight, 4 * kGiB) == Approx(188.0).epsilon(0.03));
  CHECK(busbw_at(four, 4 * kGiB) == Approx(94.0).epsilon(0.03));
  CHECK(busbw_at(four, 4 * kGiB) / busbw_at(eight, 4 * kGiB) == Approx(0.5).epsilon(0.03));
}

TEST_CASE("NIC line rate and leaf oversubscription change the inter-node rate", "[network][nics]") {
  const std::string base = "--cluster gpu=a100-80gb-sxm,gpus=24,gpus_per_node=8,inter=ib-hdr200";
  const double hdr = busbw_at(collective(base + " -b 4G -e 4G --algo ring"), 4 * kGiB);
  // 400 Gb/s NICs on A100 nodes: the NIC's PCIe 4.0 x16 link (31.5 GB/s) now limits, not its port:
  // 31.5077 / 25 = 1.26 times the HDR rate.
  const double ndr = busbw_at(collective(base + ",nic_gbps=400 -b 4G -e 4G --algo ring"), 4 * kGiB);
  CHECK(ndr / hdr == Approx(31.5077 / 25.0).epsilon(0.02));
  // On H100 nodes (PCIe 5.0) the port limits: 200 Gb/s NICs on the NDR fabric halve the NDR rate.
  const std::string h100 = "--cluster gpu=h100-80gb-sxm,gpus=24,gpus_per_node=8,inter=ib-ndr400";
  const double full = busbw_at(collective(h100 + " -b 4G -e 4G --algo ring"), 4 * kGiB);
  const double half = busbw_at(collective(h100 + ",nic_gbps=200 -b 4G -e 4G --algo ring"), 4 * kGiB);
  CHECK(half / full == Approx(0.5).epsilon(0.02));
  // Not rail-optimised: a 40-port HDR leaf holds 20 NICs, 2 nodes of 8; node 2 sits on a second leaf.
  // Node 1 -> node 2 crosses leaf 0's uplink: 20 x 25 GB/s non-blocking carries the 8 NICs' 200 GB/s;
  // at 4:1 it is 125 GB/s, which now limits the ring (125 / 200 of the NIC-bound rate).
  const std::string flat = base + ",rail_optimized=false";
  const double blocking = busbw_at(collective(flat + " -b 4G -e 4G --algo ring"), 4 * kGiB);
  const double oversubscribed =
      busbw_at(collective(flat + ",oversubscription=4 -b 4G -e 4G --algo ring"), 4 * kGiB);
  CHECK(blocking == Approx(hdr).epsilon(0.01));
  CHECK(oversubscribed / blocking == Approx(125.0 / 200.0).epsilon(0.03));
}

TEST_CASE("NVLSTree between two NVLS nodes: kernel-bound, past the NICs' limit, as NCCL picks it",
          "[network][nvlstree]") {
  const auto j = collective(
      "--cluster gpu=h100-80gb-sxm,gpus=16,gpus_per_node=8,intra=nvswitch,inter=ib-ndr400 -b 16G -e 16G");
  CHECK(j["results"][0]["algorithm"] == "nvlstree");
  // Per GPU: NVLS moves (1 + 1/8) · S over its NVLink port at 0.734 · 450 GB/s = 58.5 ms for S = 16 GiB,
  // plus 2 handshakes x 2 µs for each of 16 GiB / (16 channels x 8 GPUs x 128 KiB) = 1024 chunk rounds
  // (4.1 ms): 62.6 ms; its NIC carries S/8 each way at 0.94 · 50 GB/s = 45.7 ms, hidden under it. The
  // kernel is slower still: 8 heads x 57.7 GB/s of busbw (NCCL's perChMaxNVLSTreeBws) need
  // 2 · 15/16 · S / 461.6 GB/s = 69.8 ms. Then NVLS's 25 µs, 2 network steps of 16 µs, a 5 µs launch and
  // the fill (~0.1 ms): busbw 2 · 15/16 · S / 69.96 ms = 460.5 GB/s (nccl-tests #309 measured 469.1).
  CHECK(busbw_at(j, 16 * kGiB) == Approx(460.5).epsilon(0.005));
  CHECK(busbw_at(j, 16 * kGiB) < 8 * 57.7);       // never past the kernel's pace
  CHECK(busbw_at(j, 16 * kGiB) > 8 * 50 * 0.94);  // above what the NICs alone allow a ring
  // 4 NICs per node: 4 NVLS heads, so half the kernel's pace, 4 x 57.7 = 230.8 GB/s (the NICs, now shared
  // by two GPUs, would allow 8 · 47 / 2 · 1.875 = 352.5).
  const auto four = collective(
      "--cluster gpu=h100-80gb-sxm,gpus=16,gpus_per_node=8,intra=nvswitch,inter=ib-ndr400,nics_per_node=4 "
      "-b 16G -e 16G --algo nvlstree");
  CHECK(four["results"][0]["algorithm"] == "nvlstree");
  CHECK(busbw_at(four, 16 * kGiB) == Approx(4 * 57.7).epsilon(0.01));
  // Left to choose, the selector then takes the plain tree, whose NICs allow more.
  const auto four_auto = collective(
      "--cluster gpu=h100-80gb-sxm,gpus=16,gpus_per_node=8,intra=nvswitch,inter=ib-ndr400,nics_per_node=4 "
      "-b 16G -e 16G");
  CHECK(four_auto["results"][0]["algorithm"] == "tree");
  CHECK(busbw_at(four_auto, 16 * kGiB) > 4 * 57.7);
  const auto ring = collective(
      "--cluster gpu=h100-80gb-sxm,gpus=16,gpus_per_node=8,intra=nvswitch,inter=ib-ndr400 -b 16G -e 16G "
      "--algo ring");
  CHECK(busbw_at(ring, 16 * kGiB) == Approx(8 * 50 * 0.94).epsilon(0.02));
  // Forced NVLSTree where it cannot run (A100: no NVLS) falls back to the ring in NCCL 2.19.3-2.24.2.
  const auto a100 =
      collective("--cluster gpu=a100-80gb-sxm,gpus=16 -b 1M -e 1M --algo nvlstree --nccl 2.23.4");
  CHECK(a100["results"][0]["algorithm"] == "ring");
}

TEST_CASE("zerosim platform --nics-per-node writes shared NICs and the zone props", "[network][platform]") {
  const auto r = run_zerosim(
      "platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter ib-hdr200 --nics-per-node 4 "
      "--nic-gbps 400 --oversubscription 2");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("<prop id=\"nics_per_node\" value=\"4\"/>"));
  CHECK_THAT(r.out, Catch::Contains("<prop id=\"nic_gbps\" value=\"400\"/>"));
  CHECK_THAT(r.out, Catch::Contains("<prop id=\"net_efficiency\" value=\"0.94\"/>"));
  CHECK_THAT(r.out, Catch::Contains("id=\"node0-gpu2-nic\""));   // NIC 1, beside GPUs 2 and 3
  CHECK_THAT(r.out, !Catch::Contains("id=\"node0-gpu1-nic\""));  // GPU 1 shares NIC 0
}

TEST_CASE("bad NIC settings exit 2 naming the key", "[network][errors]") {
  const std::string base = "collective --cluster gpu=a100-80gb-sxm,gpus=16,gpus_per_node=8";
  for (const auto& [bad, key] : std::vector<std::pair<std::string, std::string>>{
           {",nics_per_node=9", "cluster.nics_per_node"},
           {",nics_per_node=0", "cluster.nics_per_node"},
           {",nic_gbps=0", "cluster.nic_gbps"},
           {",nic_gbps=fast", "cluster.nic_gbps"},
           {",oversubscription=0.5", "cluster.oversubscription"}}) {
    const auto r = run_zerosim(base + bad + " -b 1M -e 1M");
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(key));
  }
}

TEST_CASE("versions.nccl / --nccl: which algorithms the release has and what a forced one does",
          "[network][nccl-release]") {
  const std::string h100x8 = "--cluster gpu=h100-80gb-sxm,gpus=8 -b 1G -e 1G";
  // NVLS arrived in NCCL 2.17.1: an 8x H100 all-reduce runs the ring before it, NVLS from it.
  CHECK(collective(h100x8 + " --nccl 2.16.5")["results"][0]["algorithm"] == "ring");
  CHECK(collective(h100x8 + " --nccl 2.17.1")["results"][0]["algorithm"] == "nvls");
  // NVLSTree arrived in 2.18.1.
  const std::string h100x16 = "--cluster gpu=h100-80gb-sxm,gpus=16,inter=ib-ndr400 -b 16G -e 16G";
  CHECK(collective(h100x16 + " --nccl 2.17.1")["results"][0]["algorithm"] != "nvlstree");
  CHECK(collective(h100x16 + " --nccl 2.18.1")["results"][0]["algorithm"] == "nvlstree");
  // A forced algorithm that cannot run: the ring from 2.19.3 to 2.24.2, a failed call before and after
  // (exit 2, the key and why).
  const std::string a100 = "collective --cluster gpu=a100-80gb-sxm,gpus=16 -b 1M -e 1M --algo nvlstree";
  CHECK(run_zerosim(a100 + " --nccl 2.19.3 --format json").exit_code == 0);
  CHECK(run_zerosim(a100 + " --nccl 2.24.2 --format json").exit_code == 0);
  for (const char* release : {"2.18.5", "2.24.3", "2.30.7"}) {
    const auto failed = run_zerosim(a100 + " --nccl " + release);
    INFO(release << ": " << failed.err);
    CHECK(failed.exit_code == 2);
    CHECK_THAT(failed.err, Catch::Contains("zerosim collective: key '--algo'") &&
                               Catch::Contains("only from 2.19.3 to 2.24.2"));
  }
  // A forced algorithm NCCL would run but zerosim does not model: refused at every release, never the ring.
  const auto nvls_gather =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 --op all_gather -b 1M -e 1M --algo nvls");
  CHECK(nvls_gather.exit_code == 2);
  CHECK_THAT(nvls_gather.err,
             Catch::Contains("NVLS all_gather inside one node") && Catch::Contains("does not model"));
  const auto tree_one_node =
      run_zerosim("collective --cluster gpu=h100-80gb-sxm,gpus=8 -b 1M -e 1M --algo tree --nccl 2.21.5");
  CHECK(tree_one_node.exit_code == 2);
  CHECK_THAT(tree_one_node.err, Catch::Contains("the tree all_reduce inside one node"));
  // NVLS on 2 GPUs of a node from 2.28.7 (nvls.cc), the ring before.
  const std::string h100x2 = "--cluster gpu=h100-80gb-sxm,gpus=2 -b 1G -e 1G --algo nvls";
  CHECK(collective(h100x2 + " --nccl 2.28.7")["results"][0]["algorithm"] == "nvls");
  CHECK(run_zerosim("collective " + h100x2 + " --nccl 2.28.3").exit_code == 2);  // cannot run, no fallback
  // A run config's: its file and cluster.nccl_algo.
  const auto forced = run_zerosim(
      "simulate --config workloads/configs/seed-dora-7b.yaml --set cluster.gpus=16 --set "
      "cluster.nccl_algo=nvlstree --set versions.nccl=2.18.5");
  CHECK(forced.exit_code == 2);
  CHECK_THAT(forced.err, Catch::Contains("seed-dora-7b.yaml: key 'cluster.nccl_algo'"));
  // Releases outside the modelled range, and non-releases, name the flag.
  for (const char* bad : {"2.9.9", "2.31.0", "3.0.0", "latest"}) {
    const auto r = run_zerosim(std::string("collective --cluster gpu=h100-80gb-sxm,gpus=8 --nccl ") + bad);
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--nccl"));
  }
  // A run config's versions.nccl is echoed.
  const auto sim = run_zerosim(
      "simulate --config workloads/configs/seed-dora-7b.yaml --set versions.nccl=2.21.5 --format json");
  REQUIRE(sim.exit_code == 0);
  CHECK(nlohmann::json::parse(sim.out)["config"]["versions"]["nccl"] == "2.21.5");
}

TEST_CASE("CollNet: SHARP switches reduce across nodes, where the fabric has them", "[network][collnet]") {
  // 4 DGX A100 with HDR SHARP: the chain inside the node moves 2·7/8·S per GPU over NVLink at 0.8 · 300 GB/s,
  // each NIC S/8 each way at 0.94 · 25 GB/s: NVLink limits, algbw 240 / 1.75 = 137.1 GB/s, busbw
  // 137.1 · 2 · 31/32 = 265.7 GB/s (NCCL's lead estimates ~110 GB/s algbw for CollNet on DGX A100 with 8
  // NICs, NVLink-bound, NVIDIA/nccl#320).
  const auto a100 =
      collective("--cluster gpu=a100-80gb-sxm,gpus=32,inter=ib-hdr200,collnet=true -b 16G -e 16G");
  CHECK(a100["results"][0]["algorithm"] == "collnet");
  CHECK(busbw_at(a100, 16 * kGiB) == Approx(265.7).epsilon(0.01));
  // Without it, the same nodes run the ring (NIC-bound, 8 x 25 x 0.94 = 188 GB/s).
  const auto plain = collective("--cluster gpu=a100-80gb-sxm,gpus=32,inter=ib-hdr200 -b 16G -e 16G");
  CHECK(plain["results"][0]["algorithm"] == "ring");
  // H100 nodes with CollNet: NCCL's multi-node NVLS (NVLink SHARP inside, SHARP between), NVLS-bound.
  const auto h100 =
      collective("--cluster gpu=h100-80gb-sxm,gpus=32,inter=ib-ndr400,collnet=true -b 4G -e 4G");
  CHECK(h100["results"][0]["algorithm"] == "nvls");
  CHECK(busbw_at(h100, 4 * kGiB) > 500);
  // ... but not before NCCL 2.18.1.
  const auto old = collective(
      "--cluster gpu=h100-80gb-sxm,gpus=32,inter=ib-ndr400,collnet=true -b 4G -e 4G --nccl 2.17.1");
  CHECK(old["results"][0]["algorithm"] == "collnet");
  // RoCE switches do not reduce: refused, naming the key and the fabrics that can.
  const auto roce =
      run_zerosim("collective --cluster gpu=a100-80gb-sxm,gpus=32,inter=roce-200g,collnet=true -b 1M -e 1M");
  CHECK(roce.exit_code == 2);
  CHECK_THAT(roce.err, Catch::Contains("cluster.collnet") && Catch::Contains("ib-ndr400"));
}

TEST_CASE("platform --check refuses a collnet or net_efficiency zone prop it cannot read",
          "[network][errors]") {
  zerosim::testing::TempDir dir;
  const auto xml = run_zerosim("platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter ib-hdr200");
  REQUIRE(xml.exit_code == 0);
  for (const auto& [from, to, key] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"id=\"collnet\" value=\"false\"", "id=\"collnet\" value=\"maybe\"", "collnet"},
           {"id=\"net_efficiency\" value=\"0.94\"", "id=\"net_efficiency\" value=\"1.5\"",
            "net_efficiency"}}) {
    std::string text = xml.out;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    const std::string path = dir.path("bad.xml");
    std::ofstream(path) << text;
    const auto r = run_zerosim("platform --check " + path);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(key));
  }
}

TEST_CASE("a platform file's NIC and CollNet zone props are the run's, and echoed", "[network][platform]") {
  zerosim::testing::TempDir dir;
  const std::string xml = dir.path("four-nics.xml");
  REQUIRE(run_zerosim(
              "platform --gpu a100-80gb-sxm --nodes 2 --gpus-per-node 8 --inter ib-hdr200 --nics-per-node 4 "
              "--collnet -o " +
              xml)
              .exit_code == 0);
  const auto r =
      run_zerosim("simulate --config workloads/configs/seed-dora-7b.yaml --set cluster.platform=" + xml +
                  " --set cluster.gpus=16 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["config"]["cluster"]["nics_per_node"] == 4);
  CHECK(j["config"]["cluster"]["nic_gbps"] == 200.0);
  CHECK(j["config"]["cluster"]["collnet"] == true);
  CHECK(j["time"]["algorithms"]["collnet"].get<int64_t>() > 0);  // the gradient all-reduce, through SHARP
}

TEST_CASE("PAT runs ZeRO-3-sized all-gathers at one GPU per node; the ring takes the large ones",
          "[network][pat]") {
  const std::string one_per_node =
      "--cluster gpu=h100-80gb-sxm,gpus=64,gpus_per_node=1,inter=ib-ndr400 --op all_gather";
  const auto j = collective(one_per_node + " -b 1M -e 1G -f 1024");
  CHECK(j["results"][0]["algorithm"] == "pat");   // 1 MiB: NCCL's log-depth latency beats 63 network steps
  CHECK(j["results"][1]["algorithm"] == "ring");  // 1 GiB: the ring's rate beats PAT's 0.75 of it
  const auto ring = collective(one_per_node + " -b 1M -e 1M --algo ring");
  CHECK(seconds_at(j, 1 << 20) < seconds_at(ring, 1 << 20) / 3);
  // Not before NCCL 2.23, nor with eight GPUs per node (a forced PAT falls back to the ring there in
  // 2.23.4-2.24.2; from 2.24.3 NCCL fails the call).
  CHECK(collective(one_per_node + " -b 1M -e 1M --nccl 2.22.3")["results"][0]["algorithm"] == "ring");
  const std::string eight_per_node =
      "--cluster gpu=h100-80gb-sxm,gpus=64,inter=ib-ndr400 --op all_gather -b 1M -e 1M --algo pat";
  CHECK(collective(eight_per_node + " --nccl 2.23.4")["results"][0]["algorithm"] == "ring");
  CHECK(run_zerosim("collective " + eight_per_node).exit_code == 2);
}
