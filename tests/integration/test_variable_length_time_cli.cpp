// Variable-length batches in time through the binary (docs/time-model.md "Variable-length batches"): with
// train.seq_len_distribution each micro-step of the simulated step runs at its group's mean length, and
// throughput counts the tokens of those micro-steps.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;

namespace {

nlohmann::json simulate(const std::string& sets) {
  return zerosim::testing::simulate_json(
      "--config workloads/configs/seed-dora-7b.yaml --set train.grad_accum=2 " + sets);
}

double step_s(const nlohmann::json& j) { return j["time"]["step_s"].get<double>(); }

}  // namespace

TEST_CASE("variable-length batches: each micro-step at its length, tokens counted as run",
          "[time][seq_len]") {
  const nlohmann::json fixed = simulate("");
  const nlohmann::json same = simulate("--set 'train.seq_len_distribution=[2048, 2048]'");
  const nlohmann::json shorter = simulate("--set 'train.seq_len_distribution=[1024, 2048]'");
  const nlohmann::json half = simulate("--set train.seq_len=1024");
  // A list of the configured length is the fixed-length step.
  CHECK(step_s(same) == Approx(step_s(fixed)).epsilon(1e-9));
  // One micro-step of 1024 tokens and one of 2048: between the fixed 1024- and 2048-token steps.
  CHECK(step_s(shorter) < step_s(fixed));
  CHECK(step_s(shorter) > step_s(half));
  // 3072 tokens per GPU per step (1 x 1024 + 1 x 2048), not 2 x 2048.
  CHECK(shorter["throughput"]["tokens_per_s_per_gpu"].get<double>() * step_s(shorter) == Approx(3072.0));
  CHECK(fixed["throughput"]["tokens_per_s_per_gpu"].get<double>() * step_s(fixed) == Approx(4096.0));
}
