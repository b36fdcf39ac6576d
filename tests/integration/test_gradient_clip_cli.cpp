// train.max_grad_norm through the binary: without DeepSpeed clip_grad_norm_'s passes over the gradients are
// part of the optimizer step (docs/time-model.md, "Gradient clipping"); bad values are exit 2.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::simulate_json;

namespace {

// LLaMA-2-7B fully fine-tuned in pure bf16 with torch's foreach AdamW, no DeepSpeed.
const std::string kFull =
    "--config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set train.engine=pytorch "
    "--set train.precision=bf16-pure --set train.optimizer=foreach --set zero.stage=0";

}  // namespace

TEST_CASE("clipping adds 6 B per bf16 gradient element to the 36 of foreach AdamW", "[clip]") {
  const auto on = simulate_json(kFull);
  const auto off = simulate_json(kFull + " --set train.max_grad_norm=0");
  CHECK(on["config"]["train"]["max_grad_norm"] == 1.0);
  CHECK(off["config"]["train"]["max_grad_norm"] == 0.0);
  // Both memory-bound at the same rate: (36 + 6) / 36.
  CHECK(on["time"]["optimizer_s"].get<double>() / off["time"]["optimizer_s"].get<double>() ==
        Approx(42.0 / 36.0).epsilon(0.01));
  CHECK(on["time"]["step_s"].get<double>() > off["time"]["step_s"].get<double>());
  // Under DeepSpeed the threshold changes nothing: ZeRO's step always takes the norm and scales.
  const std::string ds =
      "--config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=2";
  CHECK(simulate_json(ds)["time"]["step_s"] ==
        simulate_json(ds + " --set train.max_grad_norm=0")["time"]["step_s"]);
}

TEST_CASE("train.max_grad_norm: a negative value is exit 2 naming the key", "[clip][errors]") {
  const auto r = run_zerosim("simulate " + kFull + " --set train.max_grad_norm=-0.5");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.max_grad_norm") && Catch::Contains(">= 0"));
}
