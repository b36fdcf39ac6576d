// zerosim-calibrate's command line: usage errors, the no-GPU message, and a real (tiny) CPU
// calibration whose file the lookup reads back.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "calibrate/backend.h"
#include "calibrate/calibration_table.h"
#include "calibrate/cli_options.h"

using namespace zerosim::calib;

namespace {

struct Run {
  int code;
  std::string output;
};

Run run(const std::string& args) {
  const std::string cmd = std::string(ZEROSIM_CALIBRATE_BINARY) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  const int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny_model() {
  std::string path = "calibrate_test_tiny_model.json";
  std::ofstream(path) << R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 96,
    "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 200})";
  return path;
}

}  // namespace

TEST_CASE("bad arguments name the flag and the allowed values", "[cli]") {
  CHECK_THROWS_WITH(parse_cli({"--backend", "gpu"}),
                    Catch::Contains("--backend") && Catch::Contains("cuda, cpu"));
  CHECK_THROWS_WITH(parse_cli({"--backend", "cpu", "--ranks", "8,zero"}), Catch::Contains("--ranks"));
  CHECK_THROWS_WITH(parse_cli({"--backend", "cpu", "--tokens"}), Catch::Contains("--tokens"));
  CHECK_THROWS_WITH(parse_cli({"--model", "llama2-7b"}), Catch::Contains("--backend"));
  CHECK_THROWS_WITH(parse_cli({"--backend", "cpu", "--fast"}), Catch::Contains("--fast"));
  const CliOptions q = parse_cli({"--backend", "cpu", "--quick", "--tokens", "2048,512"});
  CHECK(q.tokens == std::vector<int64_t>{512});
  CHECK(q.ranks == std::vector<int64_t>{16});
  CHECK(q.repeats == 3);
  CHECK(parse_cli({"--help"}).help);

  const Run r = run("--backend gpu");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("allowed: cuda, cpu"));
  CHECK(run("--help").code == 0);
  CHECK(run("--backend cpu --model no-such-model").code == 2);
}

TEST_CASE("without a GPU, backend cuda exits 2 and suggests --backend cpu", "[cli]") {
  try {
    make_cuda_backend(0);
    WARN("a CUDA device is present: the no-GPU path is not exercised on this machine");
  } catch (const NoDeviceError&) {
    const Run r = run("--backend cuda --out never-written.yaml");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains("--backend cpu"));
  }
}

TEST_CASE("a tiny CPU calibration writes a file the lookup reads", "[cli][cpu-run]") {
  const std::string out = "calibrate_test_tiny.yaml";
  const Run r = run(
      "--backend cpu --model " + tiny_model() +
      " --tokens 32,64 --ranks 4 --seq-lens 32 --repeats 1 --warmup 0 --copy-mib 1 --no-host --out " + out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("[1/"));  // a progress line per shape group
  const CalibrationTable t = load_calibration(out);
  CHECK(t.device.backend == "cpu");
  CHECK(t.device.kind == "cpu");
  CHECK(t.precision.inputs == "fp32");
  CHECK(t.peaks.gemm_flops_per_s > 0);
  CHECK(t.peaks.memory_bytes_per_s > 0);
  // Every op of the catalogue was timed at least once.
  for (const auto& info : op_catalogue()) {
    bool seen = false;
    for (const auto& row : t.rows()) seen = seen || row.key.op == info.id;
    CHECK(seen);
  }
  CHECK(t.lookup("linear_fwd", 48, 64, 64, 0).has_value());
  CHECK(t.lookup("dora_weight_norm", 0, 96, 64, 4).has_value());  // down_proj
  CHECK(t.lookup("attention_fwd", 64, 32, 64, 32).has_value());
  CHECK_FALSE(t.host);  // --no-host
  std::remove(out.c_str());
}

TEST_CASE("the host measurement's switches: --no-host and --host-only", "[cli]") {
  CHECK(parse_cli({"--backend", "cpu"}).host);
  CHECK_FALSE(parse_cli({"--backend", "cpu", "--no-host"}).host);
  const CliOptions only = parse_cli({"--host-only"});  // no --backend needed
  CHECK(only.host_only);
  CHECK(only.host);
  CHECK_THROWS_WITH(parse_cli({"--host-only", "--no-host"}),
                    Catch::Contains("--host-only") && Catch::Contains("--no-host"));
  CHECK_THROWS_WITH(parse_cli({"--quick"}), Catch::Contains("--backend") && Catch::Contains("--host-only"));
}

TEST_CASE("a quick host-only calibration writes a host section with positive figures and nothing else",
          "[cli][cpu-run]") {
  const std::string out = "calibrate_test_host.yaml";
  const Run r = run("--host-only --quick --out " + out);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("[host]") && Catch::Contains("host section"));
  const CalibrationTable t = load_calibration(out);
  std::remove(out.c_str());
  CHECK_FALSE(t.has_ops());
  CHECK(t.device.kind == "cpu");
  REQUIRE(t.host);
  CHECK(t.host->cpu == t.device.name);
  CHECK(t.host->cores >= 1);
  CHECK((t.host->cores_kind == "physical" || t.host->cores_kind == "logical"));
  CHECK(t.host->threads_used >= 1);
  CHECK(t.host->cpu_adam_elements_per_s_per_core > 0);
  CHECK(t.host->cpu_adam_elements_per_s_all_cores > 0);
  CHECK(t.host->mem_bw_bytes_s > 0);
  CHECK_THAT(t.host->source, Catch::Contains("DeepSpeedCPUAdam") && Catch::Contains("16 Mi elements"));
}
