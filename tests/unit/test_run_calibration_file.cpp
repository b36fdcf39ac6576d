// The run's calibration file (sim/batch/run_calibration_file): a host: section replaces the run's CPU
// figures, the node's bandwidth split over the run's sockets; files with CPU op times are refused for a GPU
// target, host-only files are not.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>

#include "sim/batch/run_calibration_file.h"
#include "test_support.h"
#include "workloads/run_config.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;

namespace {
RunConfig dgx_a100_run() {
  return run_config_from_yaml(YAML::Load("cluster: {gpu: a100-80gb-sxm}"), "run.yaml", {});
}

calib::HostMeasurement measured(double per_core, double node_bw) {
  calib::HostMeasurement h;
  h.cpu = "Measured CPU";
  h.cpu_adam_elements_per_s_per_core = per_core;
  h.mem_bw_bytes_s = node_bw;
  return h;
}
}  // namespace

TEST_CASE("a host section sets the per-core Adam rate and the per-socket share of the node's bandwidth",
          "[calibration][host]") {
  RunConfig c = dgx_a100_run();
  REQUIRE(c.host.id == "dgx-a100");
  REQUIRE(c.host.sockets == 2);
  CHECK(c.host.rates_source == "catalogue");
  const HostSpec before = c.host;

  calib::CalibrationTable none;  // no host section: nothing changes
  apply_calibrated_host(c, none);
  CHECK(c.host.cpu_adam_elements_per_s_per_core == before.cpu_adam_elements_per_s_per_core);
  CHECK(c.host.rates_source == "catalogue");

  calib::CalibrationTable t;
  t.host = measured(3e8, 2.4e11);
  apply_calibrated_host(c, t);
  CHECK(c.host.cpu_adam_elements_per_s_per_core == 3e8);
  CHECK(c.host.mem_bw_bytes_s == 1.2e11);  // 2.4e11 B/s for the node over 2 sockets
  CHECK(c.host.rates_source == "calibration");
  // The rest of the host is the run's.
  CHECK(c.host.cores() == before.cores());
  CHECK(c.host.memory_bytes == before.memory_bytes);
  CHECK(c.host.gpus_per_pcie_switch == before.gpus_per_pcie_switch);
}

TEST_CASE("CPU op times are refused for a GPU run unless allowed; a host-only CPU file is not",
          "[calibration][host]") {
  TempDir dir;
  RunConfig c = dgx_a100_run();
  c.calibration =
      dir.write("host.yaml",
                "zerosim_calibration: 1\ndevice: {name: Measured CPU, backend: cpu, kind: cpu}\n"
                "host: {cpu: Measured CPU, cpu_adam_elements_per_s_per_core: 3e8, mem_bw_bytes_s: 2e11}\n");
  const auto table = load_run_calibration(c);
  REQUIRE(table);
  CHECK_FALSE(table->has_ops());
  c.calibration = dir.write("ops.yaml",
                            "zerosim_calibration: 1\ndevice: {name: Measured CPU, backend: cpu, kind: cpu}\n"
                            "peaks: {gemm_flops_per_s: 1e11, memory_bytes_per_s: 1e10}\n"
                            "ops: [{op: linear_fwd, tokens: 128, d_in: 64, d_out: 64, seconds: 1e-3}]\n");
  const std::string message = config_error_message([&] { load_run_calibration(c); });
  CHECK_THAT(message, Catch::Contains("device.kind") && Catch::Contains("allow_cpu_device: true") &&
                          Catch::Contains("--host-only"));
  c.calibration_allow_cpu_device = true;
  CHECK(load_run_calibration(c)->has_ops());
  c.calibration.clear();
  CHECK_FALSE(load_run_calibration(c));
}
