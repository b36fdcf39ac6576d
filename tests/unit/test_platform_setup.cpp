// A run config naming a platform file takes the file's GPUs: all of them unless cluster.gpus says.
#include <catch2/catch.hpp>

#include "sim/platform/platform_setup.h"
#include "test_support.h"
#include "workloads/units.h"
#include "workloads/yaml_read.h"

using namespace zerosim;

namespace {

RunConfig dgx_a100_config(const std::string& extra_cluster_keys) {
  const std::string platform = std::string(ZEROSIM_SOURCE_DIR) + "/platforms/dgx-a100.xml";
  const YAML::Node root =
      YAML::Load("{peft: {method: none}, cluster: {platform: " + platform + extra_cluster_keys + "}}");
  RunConfig config = run_config_from_yaml(root, "test.yaml");
  apply_platform_file(config);
  return config;
}

}  // namespace

TEST_CASE("a platform file without cluster.gpus runs on all of its GPU hosts", "[platform]") {
  const RunConfig config = dgx_a100_config("");
  CHECK(config.cluster.gpus == 8);  // the DGX A100 file has 8 GPU hosts
  CHECK(config.cluster.gpu == "a100-80gb-sxm");
  CHECK(config.cluster.gpus_per_node == 8);
}

TEST_CASE("cluster.gpus picks the first GPU hosts of a platform file, up to all of them", "[platform]") {
  CHECK(dgx_a100_config(", gpus: 4").cluster.gpus == 4);
  CHECK(dgx_a100_config(", gpus: 1").cluster.gpus == 1);
  CHECK_THROWS_AS(dgx_a100_config(", gpus: 9"), ConfigError);
}

TEST_CASE("a config without a platform file keeps its cluster keys", "[platform]") {
  RunConfig config = run_config_from_yaml(YAML::Load("{peft: {method: none}}"), "test.yaml");
  apply_platform_file(config);
  CHECK(config.cluster.gpus == 1);
  CHECK(config.cluster.gpu == "a100-80gb-sxm");
}

TEST_CASE("a platform file's CPU hosts and zone props are the run's host", "[platform][host]") {
  // The bundled DGX A100 file: zone host=dgx-a100, 2 CPU hosts of 64 cores, 512 GiB each.
  const RunConfig a100 = dgx_a100_config("");
  CHECK(a100.host.id == "dgx-a100");
  CHECK(a100.host.sockets == 2);
  CHECK(a100.host.cores() == 128);
  CHECK(a100.host.memory_bytes == 1024 * kBytesPerGiB);
  CHECK(a100.cluster.pcie_gen == 4);
  // The file is the hardware: it wins over the config's host keys, as its GPU wins over cluster.gpu.
  CHECK(dgx_a100_config(", host: workstation, host_memory_gib: 64").host.memory_bytes == 1024 * kBytesPerGiB);
  CHECK(dgx_a100_config(", host: workstation").host.id == "dgx-a100");

  // A user's file: one CPU host of 24 cores with its own numbers, no zone props.
  const zerosim::testing::TempDir dir;
  const std::string user = dir.write(
      "user.xml",
      "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
      "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
      "<host id=\"g0\" speed=\"71Tf\"><prop id=\"gpu\" value=\"rtx-3090\"/></host>"
      "<host id=\"g1\" speed=\"71Tf\"><prop id=\"gpu\" value=\"rtx-3090\"/></host>"
      "<host id=\"cpu\" speed=\"60Mf\" core=\"24\"><prop id=\"kind\" value=\"cpu\"/>"
      "<prop id=\"memory_bytes\" value=\"274877906944\"/><prop id=\"mem_bw_bytes_s\" value=\"80e9\"/>"
      "<prop id=\"numa_nodes\" value=\"2\"/></host>"
      "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/><link id=\"m\" bandwidth=\"80GBps\" "
      "latency=\"0.1us\"/>"
      "<route src=\"g0\" dst=\"g1\"><link_ctn id=\"l\"/></route>"
      "<route src=\"g0\" dst=\"cpu\"><link_ctn id=\"m\"/></route>"
      "<route src=\"g1\" dst=\"cpu\"><link_ctn id=\"m\"/></route></zone></platform>\n");
  RunConfig c =
      run_config_from_yaml(YAML::Load("{peft: {method: none}, cluster: {platform: " + user + "}}"), "t.yaml");
  apply_platform_file(c);
  CHECK(c.host.id == "workstation");  // the RTX 3090's usual node, completed by the file's numbers
  CHECK(c.host.sockets == 1);
  CHECK(c.host.cores_per_socket == 24);
  CHECK(c.host.numa_per_socket == 2);  // the file's numa_nodes over the workstation's 1
  CHECK(c.host.memory_bytes == 256 * kBytesPerGiB);
  CHECK(c.host.mem_bw_bytes_s == Approx(80e9));
  CHECK(c.host.cpu_adam_elements_per_s_per_core == Approx(60e6));  // the host's speed
  const PreparedPlatform platform(c);
  CHECK(platform.rank_cpu_hosts() == std::vector<std::string>{"cpu", "cpu"});
}

TEST_CASE("PreparedPlatform names each rank's CPU host, \"\" when the file has none", "[platform][host]") {
  // Generated: 16 A100 SXM GPUs on 2 DGX A100 nodes, GPUs 0-3 of a node on socket 0, 4-7 on socket 1.
  const RunConfig generated = run_config_from_yaml(
      YAML::Load("{peft: {method: none}, cluster: {gpus: 16, inter: ib-hdr200}}"), "t.yaml");
  const PreparedPlatform p(generated);
  REQUIRE(p.rank_cpu_hosts().size() == 16);
  CHECK(p.rank_cpu_hosts()[0] == "node0-cpu0-host");
  CHECK(p.rank_cpu_hosts()[4] == "node0-cpu1-host");
  CHECK(p.rank_cpu_hosts()[11] == "node1-cpu0-host");
  // A file with GPU hosts only.
  const zerosim::testing::TempDir dir;
  const std::string bare =
      dir.write("bare.xml",
                "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
                "<host id=\"g0\" speed=\"312Tf\"><prop id=\"gpu\" value=\"h100-80gb-sxm\"/></host>"
                "<host id=\"g1\" speed=\"312Tf\"><prop id=\"gpu\" value=\"h100-80gb-sxm\"/></host>"
                "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>"
                "<route src=\"g0\" dst=\"g1\"><link_ctn id=\"l\"/></route></zone></platform>\n");
  RunConfig c =
      run_config_from_yaml(YAML::Load("{peft: {method: none}, cluster: {platform: " + bare + "}}"), "t.yaml");
  apply_platform_file(c);
  CHECK(c.host.id == "dgx-h100");  // the GPU's usual node, unchanged
  CHECK(c.host.cores() == 112);
  CHECK(PreparedPlatform(c).rank_cpu_hosts() == std::vector<std::string>{"", ""});
}
