// A calibration file's host: section drives CPU offload's step (issue 14): zerosim-calibrate measures it,
// simulate takes DeepSpeedCPUAdam's per-core rate and the node's memory bandwidth from it instead of the
// host catalogue or a platform file, says so in host_model, and refuses malformed values.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"
#include "zerosim_json.h"

using zerosim::testing::run_command;
using zerosim::testing::run_zerosim;
using zerosim::testing::source_path;
using zerosim::testing::TempDir;
using zerosim::testing::zerosim_json;

namespace {

// LLaMA-2-7B full fine-tuning, ZeRO-2, optimizer on the CPU, 2 A100s of a DGX A100 (host dgx-a100: 2 sockets
// x 64 cores, DeepSpeedCPUAdam 5e7 elements/s per core, 2 x 140 GB/s). Each rank updates its half of the
// 6,738,415,616 parameters, E = 3,369,207,808 elements, with every core (cpu_threads_per_rank = 128), so it
// gets min(128, 128/2) = 64 cores and half the node's bandwidth; the step moves 42 B per element, 26 of
// them in pinned buffers. As NPS1 (host_numa_per_socket 1: one NUMA node per socket) each rank's pinned
// buffers have their socket to themselves, 2 · 26 B · E over the node's bandwidth, below the other bounds
// in every case here but the platform file's, which says NPS4.
const std::string kOffload =
    "simulate --config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=2 "
    "--set zero.offload_optimizer=cpu --set cluster.gpus=2 --set cluster.host_numa_per_socket=1 --format "
    "json";
constexpr double kElements = 3'369'207'808.0;

nlohmann::json simulate(const std::string& sets) { return zerosim_json(kOffload + " " + sets); }

double cpu_step(const nlohmann::json& j) { return j["time"]["cpu_optimizer_s"].get<double>(); }

// A hand-written host-only file: no ops, so nothing for the compute model and no allow_cpu_device needed.
std::string host_file(const TempDir& dir, const std::string& host) {
  return dir.write(
      "host.yaml",
      "zerosim_calibration: 1\ndevice: {name: my box, backend: cpu, kind: cpu}\nhost: " + host + "\n");
}

}  // namespace

TEST_CASE("without a host section the CPU step uses the catalogue, and host_model says so",
          "[host-calibration]") {
  const auto j = simulate("");
  // compute E / (64 · 5e7) = 1.0529 s; memory 2 ranks · 42 B · E / 280e9 B/s = 1.0108 s: compute-bound.
  CHECK(cpu_step(j) == Approx(kElements / (64 * 5e7)).epsilon(1e-6));
  CHECK(j["host_model"]["source"] == "catalogue");
  CHECK(j["host_model"]["cpu"] == "NVIDIA DGX A100: 2x AMD EPYC 7742");
  CHECK(j["host_model"]["cpu_adam_elements_per_s_per_core"].get<double>() == 5e7);
  CHECK(j["host_model"]["mem_bw_bytes_s"].get<double>() == 2 * 140e9);  // the node's: both sockets
}

TEST_CASE("a hand-written host section with a slow CPU makes the CPU step longer", "[host-calibration]") {
  TempDir dir;
  const std::string file =
      host_file(dir, "{cpu: a slow CPU, cpu_adam_elements_per_s_per_core: 1e7, mem_bw_bytes_s: 1.0e11}");
  const auto base = simulate("");
  const auto slow = simulate("--set calibration=" + file);
  // compute E / (64 · 1e7) = 5.2644 s; memory 2 · 42 · E / 1e11 = 2.8301 s: compute-bound, 5x the
  // catalogue's.
  CHECK(cpu_step(slow) > cpu_step(base));
  CHECK(cpu_step(slow) == Approx(kElements / (64 * 1e7)).epsilon(1e-6));
  CHECK(cpu_step(slow) / cpu_step(base) == Approx(5.0).epsilon(1e-9));
  CHECK(slow["host_model"] == nlohmann::json{{"source", "calibration"},
                                             {"cpu", "a slow CPU"},
                                             {"cpu_adam_elements_per_s_per_core", 1e7},
                                             {"mem_bw_bytes_s", 1e11},
                                             {"numa_nodes", 2}});
  CHECK(slow["compute_model"]["source"] == "roofline");  // no ops in the file: GPU times unchanged
  CHECK(slow["time"]["forward_s"] == base["time"]["forward_s"]);
  CHECK(slow["warnings"] == nlohmann::json::array());  // no core count stated: nothing to compare
}

TEST_CASE("a host section's memory bandwidth bounds the CPU step, split over the run's sockets",
          "[host-calibration]") {
  TempDir dir;
  const std::string file =
      host_file(dir, "{cpu: fast cores, cpu_adam_elements_per_s_per_core: 1e9, mem_bw_bytes_s: 5.0e10}");
  const auto j = simulate("--set calibration=" + file);
  // compute E / (64 · 1e9) = 0.053 s; memory 2 ranks · 42 B · E / 5e10 B/s = 5.6603 s: memory-bound.
  CHECK(cpu_step(j) == Approx(2 * 42 * kElements / 5e10).epsilon(1e-6));
  CHECK(j["host_model"]["mem_bw_bytes_s"].get<double>() == Approx(5e10));  // 2 sockets x 2.5e10
}

TEST_CASE("a host section overrides a platform file's CPU hosts", "[host-calibration]") {
  TempDir dir;
  const std::string file =
      host_file(dir, "{cpu: a slow CPU, cpu_adam_elements_per_s_per_core: 1e7, mem_bw_bytes_s: 1.0e11}");
  const std::string platform = " --set cluster.platform=platforms/dgx-a100.xml";
  const auto from_platform = simulate(platform);
  CHECK(from_platform["host_model"]["source"] == "platform");
  const auto calibrated = simulate(platform + " --set calibration=" + file);
  CHECK(calibrated["host_model"]["source"] == "calibration");
  // The file's CPU hosts say numa_nodes 4 (the DGX A100 runs NPS4), over the key's 1: 8 NUMA nodes of
  // 1e11 / 8 B/s each, and the pinned 26 B per element take 8 · 26 · E / 1e11 = 7.008 s, more than the
  // cores' E / (64 · 1e7) = 5.264 s.
  CHECK(calibrated["host_model"]["numa_nodes"] == 8);
  CHECK(cpu_step(calibrated) == Approx(8 * 26 * kElements / 1e11).epsilon(1e-6));
}

TEST_CASE("a host section measured on another core count than the run's host is a warning",
          "[host-calibration]") {
  TempDir dir;
  const std::string file = host_file(dir,
                                     "{cpu: small box, cores: 8, cores_kind: physical, "
                                     "cpu_adam_elements_per_s_per_core: 2e8, mem_bw_bytes_s: 4.0e10}");
  const auto j = simulate("--set calibration=" + file);
  REQUIRE(j["warnings"].size() == 1);
  CHECK_THAT(j["warnings"][0].get<std::string>(),
             Catch::Contains("small box with 8 physical cores") && Catch::Contains("(dgx-a100) has 128"));
  // Logical counts (no topology) are not compared: SMT doubles them.
  const std::string logical = host_file(dir,
                                        "{cpu: small box, cores: 8, cores_kind: logical, "
                                        "cpu_adam_elements_per_s_per_core: 2e8, mem_bw_bytes_s: 4.0e10}");
  CHECK(simulate("--set calibration=" + logical)["warnings"] == nlohmann::json::array());
}

TEST_CASE("malformed host values are exit 2 naming the file and the key", "[host-calibration][errors]") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{cpu: x, cpu_adam_elements_per_s_per_core: -1, mem_bw_bytes_s: 1e11}",
       "host.cpu_adam_elements_per_s_per_core"},
      {"{cpu: x, cpu_adam_elements_per_s_per_core: 1e8, mem_bw_bytes_s: lots}", "host.mem_bw_bytes_s"},
      {"{cpu: x, cpu_adam_elements_per_s_per_core: 1e8}", "host.mem_bw_bytes_s"},
      {"{cpu: x, cpu_adam_per_core: 1e8, mem_bw_bytes_s: 1e11}", "host.cpu_adam_per_core"},
      {"{cpu: x, cores: many, cpu_adam_elements_per_s_per_core: 1e8, mem_bw_bytes_s: 1e11}", "host.cores"}};
  for (const auto& [host, key] : cases) {
    const std::string file = host_file(dir, host);
    const auto r = run_zerosim(kOffload + " --set calibration=" + file);
    INFO(host);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(file) && Catch::Contains("'" + key + "'"));
    CHECK(r.out.empty());
  }
}

TEST_CASE("zerosim-calibrate --backend cpu --quick writes a host section that simulate uses",
          "[host-calibration][cpu]") {
  TempDir dir;
  const std::string out = dir.path("cpu-quick.yaml");
  const auto r = run_command(std::string("cd ") + source_path("") + " && " + ZEROSIM_CALIBRATE +
                             " --backend cpu --quick --model tests/data/models/tiny-llama.json --tokens 128"
                             " --ranks 8 --copy-mib 4 --repeats 1 --warmup 0 --no-composites --out " +
                             out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("[host]"));
  // The file holds CPU op times too: for a GPU target they are refused unless allowed, and the message
  // points at --host-only for the CPU figures alone.
  const auto refused = run_zerosim(kOffload + " --set calibration=" + out);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("--host-only"));
  const auto j = simulate("--set calibration.file=" + out + " --set calibration.allow_cpu_device=true");
  const auto& hm = j["host_model"];
  CHECK(hm["source"] == "calibration");
  CHECK(hm["cpu"].get<std::string>().size() > 0);
  CHECK(hm["cpu_adam_elements_per_s_per_core"].get<double>() > 0);
  CHECK(hm["mem_bw_bytes_s"].get<double>() > 0);
  CHECK(cpu_step(j) > 0);
}

TEST_CASE("zerosim-calibrate --host-only writes a file any GPU run accepts", "[host-calibration][cpu]") {
  TempDir dir;
  const std::string out = dir.path("host-only.yaml");
  const auto r = run_command(std::string(ZEROSIM_CALIBRATE) + " --host-only --quick --out " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = simulate("--set calibration=" + out);  // no allow_cpu_device: no op times to transfer
  CHECK(j["host_model"]["source"] == "calibration");
  CHECK(j["compute_model"]["source"] == "roofline");
  CHECK(j["host_model"]["cpu_adam_elements_per_s_per_core"].get<double>() > 0);
}
