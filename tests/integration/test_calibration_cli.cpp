// Predictions driven by a calibration file (issue 4, item 6): measured times replace the roofline,
// the ops the file lacks are counted as estimated, and a file from another device is a labelled transfer.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_command;
using zerosim::testing::run_zerosim;
using zerosim::testing::simulate_json;
using zerosim::testing::source_path;

namespace {

const std::string kRun = "--config tests/data/tiny-llama-dora.yaml";
const std::string kKnown = "tests/data/calibration/tiny-llama-1ms-a100.yaml";

nlohmann::json simulate(const std::string& args) { return simulate_json(kRun + " " + args); }

}  // namespace

TEST_CASE("a calibration with known times gives exactly the expected step time on one GPU", "[calibration]") {
  const auto j = simulate("--set calibration=" + kKnown);
  const auto& cm = j["compute_model"];
  CHECK(cm["source"] == "calibration");  // measured on an A100-SXM4-80GB, simulated on one: no transfer
  // Ops of one step of the tiny model (2 layers, DoRA on q_proj and v_proj, 1 GPU, stage 0):
  //  forward, per layer: input norm; q: linear, DoRA weight norm, LoRA, DoRA combine; k: linear;
  //    v: 4 as q; rotary; attention; o; post-attention norm; gate; up; SwiGLU; down = 18 calibrated
  //    (+ 2 residual adds, which the file does not time)                       -> 2 x 18 = 36
  //  final norm, lm_head, cross-entropy forward                                  ->  3
  //  cross-entropy backward, lm_head dX, final norm backward                     ->  3
  //  layer 1 backward: down dX, SwiGLU, up dX, gate dX, post norm, o dX, attention, rotary,
  //    v: dX + LoRA + combine, k dX, q: dX + LoRA + combine, input norm          -> 16
  //  layer 0 backward: its input needs no gradient (no checkpointing), so no q/k/v dX and no
  //    input-norm backward                                                       -> 12
  //  = 36 + 3 + 3 + 16 + 12 = 70 ops at 1 ms each.
  CHECK(cm["calibrated_ops"].get<int64_t>() == 70);
  CHECK(cm["extrapolated_ops"].get<int64_t>() == 0);
  CHECK(cm["calibrated_compute_s"].get<double>() == Approx(0.070).epsilon(1e-12));
  //  Roofline: embedding, 4 residual adds, Adam.
  CHECK(cm["estimated_ops"].get<int64_t>() == 6);
  // The GPU also waits for the training thread to launch what it runs (exposed_host_s).
  const double expected =
      0.070 + cm["estimated_compute_s"].get<double>() + j["time"]["exposed_host_s"].get<double>();
  CHECK(j["time"]["step_s"].get<double>() == Approx(expected).epsilon(1e-9));
}

namespace {
// The known file relabelled as a CPU measurement.
std::string cpu_relabelled(const std::string& path) {
  std::ifstream in(source_path(kKnown));
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"kind: gpu", "kind: cpu"}, {"NVIDIA A100-SXM4-80GB", "Some CPU"}})
    yaml.replace(yaml.find(from), from.size(), to);
  std::ofstream(path) << yaml;
  return path;
}
const std::string kAllowCpu = " --set calibration.allow_cpu_device=true";
}  // namespace

TEST_CASE("a CPU calibration for a GPU target is refused unless allowed, then transferred and labelled",
          "[calibration]") {
  const std::string path = cpu_relabelled("/tmp/zerosim-test-cpu-calibration.yaml");
  const auto refused = run_zerosim("simulate " + kRun + " --set calibration=" + path);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains(path) && Catch::Contains("device.kind") &&
                              Catch::Contains("Some CPU") && Catch::Contains("allow_cpu_device: true"));
  CHECK(refused.out.empty());
  // Asked for explicitly: times are scaled by peak ratios, never used as GPU times, and a warning says so.
  const auto r =
      run_zerosim("simulate " + kRun + " --set calibration.file=" + path + kAllowCpu + " --format json");
  std::remove(path.c_str());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["compute_model"]["source"] == "calibration-transfer");
  CHECK(j["compute_model"]["calibration_device"] == "Some CPU");
  CHECK(j["compute_model"]["calibrated_ops"].get<int64_t>() == 70);
  CHECK(j["compute_model"]["calibrated_compute_s"].get<double>() != Approx(0.070));
  CHECK(j["config"]["calibration"] == nlohmann::json{{"file", path}, {"allow_cpu_device", true}});
  REQUIRE(j["warnings"].size() == 1);
  CHECK_THAT(j["warnings"][0].get<std::string>(), Catch::Contains("was measured on a CPU (Some CPU)"));
  CHECK_THAT(r.err, Catch::Contains("zerosim: warning: calibration " + path + " was measured on a CPU"));
}

TEST_CASE("ops outside the calibration's measured range are counted in a warning", "[calibration]") {
  // The file measured 128 and 256 tokens; seq_len 512 puts every token-dependent op past its edge.
  const auto r = run_zerosim("simulate " + kRun + " --set calibration=" + kKnown +
                             " --set train.seq_len=512 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto extrapolated = j["compute_model"]["extrapolated_ops"].get<int64_t>();
  const auto calibrated = j["compute_model"]["calibrated_ops"].get<int64_t>();
  CHECK(extrapolated > 0);
  const std::string text = std::to_string(extrapolated) + " of " + std::to_string(calibrated) +
                           " calibrated ops lie outside " + kKnown + "'s measured range";
  REQUIRE(j["warnings"].size() == 1);
  CHECK_THAT(j["warnings"][0].get<std::string>(), Catch::StartsWith(text));
  CHECK_THAT(r.err, Catch::Contains("zerosim: warning: " + text));
  // Inside the range (the default 128 tokens): no warning.
  CHECK(simulate("--set calibration=" + kKnown)["warnings"] == nlohmann::json::array());
}

TEST_CASE("the calibration mapping form: bad keys are exit 2 naming them", "[calibration][errors]") {
  auto r = run_zerosim("simulate " + kRun + kAllowCpu);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("calibration.file"));
  r = run_zerosim("simulate " + kRun + " --set calibration.file=" + kKnown + " --set calibration.allow=true");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("allow") && Catch::Contains("allow_cpu_device"));
  r = run_zerosim("simulate " + kRun + " --set calibration.file=" + kKnown +
                  " --set calibration.allow_cpu_device=perhaps");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("calibration.allow_cpu_device"));
}

TEST_CASE("the CPU backend writes a calibration file that simulate consumes", "[calibration][cpu]") {
  const std::string out = "/tmp/zerosim-test-cpu-cal.yaml";
  const auto r =
      run_command(std::string("cd ") + source_path("") + " && " + ZEROSIM_CALIBRATE +
                  " --backend cpu --model tests/data/models/tiny-llama.json --tokens 128 --ranks 8"
                  " --seq-lens 128 --copy-mib 4 --repeats 1 --warmup 0 --no-composites --no-host --out " +
                  out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = simulate("--set calibration.file=" + out + kAllowCpu);
  std::remove(out.c_str());
  CHECK(j["compute_model"]["source"] == "calibration-transfer");
  CHECK(j["compute_model"]["calibrated_ops"].get<int64_t>() == 70);
  CHECK(j["time"]["step_s"].get<double>() > 0);
}

TEST_CASE("a bad calibration file is exit 2 naming it", "[calibration][errors]") {
  const auto r = run_zerosim("simulate " + kRun + " --set calibration=/nonexistent/cal.yaml");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/cal.yaml"));
}
