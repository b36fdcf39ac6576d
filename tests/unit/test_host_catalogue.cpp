// The host catalogue (platforms/hosts.yaml): every entry complete and plausible, each GPU's usual node
// known, the figures of the sources in SI units, and the cluster.host / host_memory_gib / host_cpu_cores
// / pcie_gen keys resolved into RunConfig::host and ClusterSpec::pcie_gen, bad values refused.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/config_error.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/host_catalogue.h"
#include "workloads/run_config.h"
#include "workloads/units.h"

using namespace zerosim;
using zerosim::testing::config_error_message;

namespace {

RunConfig from_text(const std::string& yaml, const std::vector<Override>& overrides = {}) {
  return run_config_from_yaml(YAML::Load(yaml), "run.yaml", overrides);
}

std::string key_of_error(const std::string& yaml) {
  try {
    from_text(yaml);
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "no error";
}

}  // namespace

TEST_CASE("host catalogue: the four hosts with complete, plausible entries", "[host]") {
  CHECK(host_ids() == std::vector<std::string>{"dgx-a100", "dgx-h100", "pcie-server-2s", "workstation"});
  for (const HostSpec& h : host_catalogue()) {
    INFO(h.id);
    CHECK(!h.name.empty());
    CHECK(!h.source.empty());
    CHECK(h.sockets >= 1);
    CHECK(h.cores_per_socket >= 8);
    CHECK(h.memory_bytes >= 64 * kBytesPerGiB);
    CHECK(h.mem_bw_bytes_s > 10e9);   // more than one DDR4 channel ...
    CHECK(h.mem_bw_bytes_s < 500e9);  // ... less than 12 DDR5 channels' theoretical per socket
    CHECK(h.cpu_adam_elements_per_s_per_core >= 10e6);
    CHECK(h.cpu_adam_elements_per_s_per_core <= 200e6);
    CHECK(h.gpus_per_pcie_switch >= 1);
  }
}

TEST_CASE("host catalogue: the sources' figures in bytes and elements per second", "[host]") {
  const HostSpec a = find_host("dgx-a100");
  CHECK(a.sockets == 2);
  CHECK(a.cores_per_socket == 64);  // 2x EPYC 7742, 64 cores each
  CHECK(a.cores() == 128);
  CHECK(a.memory_bytes == 1024 * kBytesPerGiB);  // 16 x 64 GB DIMMs = 1 TiB
  CHECK(a.mem_bw_bytes_s == Approx(140e9));
  CHECK(a.cpu_adam_elements_per_s_per_core == Approx(5e7));
  CHECK(a.gpus_per_pcie_switch == 2);  // 2 A100 behind each of the 4 PCIe Gen4 switches
  const HostSpec h = find_host("dgx-h100");
  CHECK(h.cores() == 112);  // 2x Xeon Platinum 8480C, 56 cores each
  CHECK(h.memory_bytes == 2048 * kBytesPerGiB);
  CHECK(h.mem_bw_bytes_s == Approx(186e9));  // STREAM Triad 372.2 GB/s per node / 2
  CHECK(h.gpus_per_pcie_switch == 1);        // each H100 behind its own ConnectX-7
  const HostSpec w = find_host("workstation");
  CHECK(w.sockets == 1);
  CHECK(w.cores() == 16);
}

TEST_CASE("every GPU names a catalogue host as its usual node", "[host]") {
  for (const GpuSpec& g : gpu_catalogue()) {
    INFO(g.id);
    CHECK_NOTHROW(find_host(g.default_host));
  }
  CHECK(find_gpu("a100-80gb-sxm").default_host == "dgx-a100");
  CHECK(find_gpu("h200").default_host == "dgx-h100");
  CHECK(find_gpu("l40s").default_host == "pcie-server-2s");
  CHECK(find_gpu("rtx-4090").default_host == "workstation");
}

TEST_CASE("an unknown host lists the known ones", "[host][errors]") {
  CHECK_THROWS_WITH(find_host("dgx-b200", "run.yaml"),
                    "run.yaml: key 'cluster.host': unknown host 'dgx-b200' (known: dgx-a100, dgx-h100, "
                    "pcie-server-2s, workstation)");
}

TEST_CASE("cluster.host defaults to the GPU's usual node; the overrides apply on top", "[host][config]") {
  const RunConfig dflt = from_text("");
  CHECK(dflt.host.id == "dgx-a100");  // the default GPU is an A100 SXM
  CHECK(dflt.cluster.host.empty());   // not set: a sweep over cluster.gpu moves the host with it
  CHECK(dflt.cluster.pcie_gen == 0);  // auto
  CHECK(from_text("cluster: {gpu: rtx-3090}").host.id == "workstation");

  const RunConfig c = from_text(
      "cluster: {gpu: h100-80gb-sxm, host: pcie-server-2s, host_memory_gib: 768, host_cpu_cores: 48, "
      "pcie_gen: 4}");
  CHECK(c.host.id == "pcie-server-2s");
  CHECK(c.host.memory_bytes == 768 * kBytesPerGiB);
  CHECK(c.host.sockets == 2);
  CHECK(c.host.cores_per_socket == 24);           // 48 cores per node, an equal share on each of 2 sockets
  CHECK(c.host.mem_bw_bytes_s == Approx(150e9));  // the rest is the catalogue's
  CHECK(c.cluster.pcie_gen == 4);
  CHECK(from_text("cluster: {pcie_gen: auto}").cluster.pcie_gen == 0);
  // Fractional GiB are bytes: 0.5 GiB = 536870912.
  CHECK(from_text("cluster: {host_memory_gib: 0.5}").host.memory_bytes == 536870912);
}

TEST_CASE("the echo names the resolved host and keeps the other cluster keys", "[host][config]") {
  const auto cl = from_text("cluster: {gpu: a100-80gb-pcie, host_cpu_cores: 32}").echo()["cluster"];
  CHECK(cl["host"] == "pcie-server-2s");
  CHECK(cl["host_memory_gib"].get<double>() == 512.0);
  CHECK(cl["host_cpu_cores"] == 32);
  CHECK(cl["pcie_gen"] == "auto");
  CHECK(cl["gpu"] == "a100-80gb-pcie");
  CHECK(cl.contains("nccl_algo"));
  CHECK(from_text("cluster: {pcie_gen: 5}").echo()["cluster"]["pcie_gen"] == 5);
}

TEST_CASE("bad host keys name the key and the allowed values", "[host][config][errors]") {
  CHECK(key_of_error("cluster: {host: dgx-b200}") == "cluster.host");
  CHECK_THAT(config_error_message([] { from_text("cluster: {host: dgx-b200}"); }),
             Catch::Contains("allowed: dgx-a100, dgx-h100, pcie-server-2s, workstation"));
  CHECK(key_of_error("cluster: {host_memory_gib: 0}") == "cluster.host_memory_gib");
  CHECK(key_of_error("cluster: {host_memory_gib: -64}") == "cluster.host_memory_gib");
  CHECK(key_of_error("cluster: {host_memory_gib: lots}") == "cluster.host_memory_gib");
  CHECK(key_of_error("cluster: {host_cpu_cores: 0}") == "cluster.host_cpu_cores");
  // 127 cores cannot be split over the DGX A100's 2 sockets; a workstation's one socket takes any count.
  CHECK(key_of_error("cluster: {host_cpu_cores: 127}") == "cluster.host_cpu_cores");
  CHECK_THAT(config_error_message([] { from_text("cluster: {host_cpu_cores: 127}"); }),
             Catch::Contains("allowed: a multiple of 2, e.g. 126 or 128"));
  CHECK(from_text("cluster: {host: workstation, host_cpu_cores: 7}").host.cores() == 7);
  CHECK(key_of_error("cluster: {pcie_gen: 6}") == "cluster.pcie_gen");
  CHECK_THAT(config_error_message([] { from_text("cluster: {pcie_gen: 6}"); }),
             Catch::Contains("allowed: auto, 3, 4, 5"));
  CHECK(key_of_error("cluster: {pcie_gen: 4.0}") == "cluster.pcie_gen");
}

TEST_CASE("a bad cluster.host given with --set is the flag's fault", "[host][config][errors]") {
  try {
    from_text("", {parse_override("cluster.host=mainframe")});
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.file() == "--set");
    CHECK(e.key() == "cluster.host");
  }
  CHECK(from_text("", {parse_override("cluster.host=workstation")}).host.id == "workstation");
}
