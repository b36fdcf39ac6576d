// A run config naming a platform file takes the file's GPUs: all of them unless cluster.gpus says.
#include <catch2/catch.hpp>

#include "sim/platform/platform_setup.h"
#include "test_support.h"
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
