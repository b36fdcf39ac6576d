// fp32 training through the binary (train.precision: fp32, docs/memory-model.md §8.7, docs/time-model.md
// "fp32 training"): the tiny model's step, its memory against bf16's, TF32, a calibration file's warning,
// and the refusals.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::simulate_json;

namespace {

const std::string kRun = "--config tests/data/tiny-llama-dora.yaml --set train.engine=pytorch";
// LLaMA-2-7B DoRA at 2048 tokens: large enough that the GPU, not the host launching kernels, sets the step.
const std::string kSeed = "--config workloads/configs/seed-dora-7b.yaml --set train.engine=pytorch";

nlohmann::json simulate(const std::string& args) { return simulate_json(kRun + " " + args); }

}  // namespace

TEST_CASE("fp32 training simulates: 4 B weights, slower GEMMs, MFU against the fp32 peak", "[cli][fp32]") {
  const auto seed = [](const std::string& sets) { return simulate_json(kSeed + " " + sets); };
  const auto bf16 = seed("--set train.precision=bf16-mixed");
  const auto fp32 = seed("--set train.precision=fp32");
  const auto tf32 = seed("--set train.precision=fp32 --set train.tf32=true");
  CHECK(fp32["config"]["train"]["precision"] == "fp32");
  CHECK(fp32["config"]["train"]["tf32"] == false);
  CHECK(tf32["config"]["train"]["tf32"] == true);
  // The frozen base is fp32: twice bf16's bytes.
  CHECK(fp32["memory"]["breakdown"]["frozen_params"].get<int64_t>() ==
        2 * bf16["memory"]["breakdown"]["frozen_params"].get<int64_t>());
  CHECK(fp32["memory"]["breakdown"]["activations"].get<int64_t>() >
        bf16["memory"]["breakdown"]["activations"].get<int64_t>());
  // An A100's fp32 CUDA cores (19.5 TFLOP/s) are 16x slower than its bf16 tensor cores, TF32 (156) 2x: the
  // steps order so, and MFU is against the peak the step's matmuls use (the same model FLOPs).
  const double b = bf16["time"]["step_s"], f = fp32["time"]["step_s"], t = tf32["time"]["step_s"];
  CHECK(f > t);
  CHECK(t > b);
  const double flops = bf16["throughput"]["mfu"].get<double>() * b * 312e12;
  CHECK(fp32["throughput"]["mfu"].get<double>() == Approx(flops / (f * 19.5e12)).epsilon(1e-6));
  CHECK(tf32["throughput"]["mfu"].get<double>() == Approx(flops / (t * 156e12)).epsilon(1e-6));
}

TEST_CASE("fp32 training with a calibration file: every op on the roofline, and a warning says why",
          "[cli][fp32][calibration]") {
  const auto j = simulate(
      "--set train.precision=fp32 --set calibration=tests/data/calibration/tiny-llama-1ms-a100.yaml");
  CHECK(j["compute_model"]["calibrated_ops"] == 0);
  bool warned = false;
  for (const auto& w : j["warnings"])
    warned = warned || w.get<std::string>().find("train.precision fp32 runs every op on the roofline") !=
                           std::string::npos;
  CHECK(warned);
}

TEST_CASE("fp32 training: refusals exit 2 naming the key", "[cli][fp32]") {
  struct Case {
    const char* sets;
    const char* key;
  };
  for (const Case& c :
       {Case{"--set train.tf32=true", "'train.tf32'"},
        Case{"--set train.precision=fp32 --set train.loss=litgpt", "'train.loss'"},
        Case{"--set train.precision=fp32 --set train.optimizer=bnb-8bit", "'train.optimizer'"},
        Case{"--set train.precision=fp64", "'train.precision'"}}) {
    INFO(c.sets);
    const auto r = run_zerosim("memory " + kRun + " " + c.sets);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.key));
  }
}
