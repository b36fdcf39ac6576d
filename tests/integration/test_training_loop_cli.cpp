// HF Trainer's loop around the step (train.loop, train.loss_sync; docs/time-model.md, "The training loop"),
// through the binary: model.train() on every micro-step, the loss read that makes the host wait for the GPU,
// both on the host track of the trace; a plain loop without them; bad values refused.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::simulate_json;

namespace {

const std::string kSeed = "--config workloads/configs/seed-dora-7b.yaml";

double ms(const nlohmann::json& j, const char* key) { return j["time"][key].get<double>() * 1e3; }

}  // namespace

TEST_CASE("HF Trainer's model.train() walk costs the GPU its time after the loss read", "[loop]") {
  const auto hf = simulate_json(kSeed);
  const auto plain = simulate_json(kSeed + " --set train.loop=plain");
  CHECK(hf["config"]["train"]["loop"] == "hf-trainer");
  CHECK(hf["config"]["train"]["loss_sync"] == true);
  CHECK(plain["config"]["train"]["loop"] == "plain");
  CHECK(plain["config"]["train"]["loss_sync"] == false);
  // LLaMA-2-7B with DoRA on q and v (peft 0.20): 7 + 32 x 13 + 64 x 11 + 2 + 1 (the DeepSpeed engine) = 1,130
  // modules x 6.4316 µs = 7.27 ms of walk, once per step (grad_accum 1), on the host as overhead.
  const double walk_ms = 1130 * 54.0 / (4 * 2099);
  CHECK(ms(hf, "overhead_s") == Approx(walk_ms).epsilon(1e-9));
  CHECK(ms(plain, "overhead_s") == 0.0);
  // The loss read drains the GPU, so the walk after it is not hidden: the step grows by it.
  CHECK(ms(hf, "step_s") - ms(plain, "step_s") == Approx(walk_ms).epsilon(0.02));
  CHECK(ms(hf, "exposed_host_s") >= walk_ms);
}

TEST_CASE("with gradient accumulation every micro-step pays it; without the loss read the walk hides",
          "[loop]") {
  const std::string ga = kSeed + " --set train.grad_accum=4";
  const auto hf = simulate_json(ga);
  const auto plain = simulate_json(ga + " --set train.loop=plain");
  const auto no_sync = simulate_json(ga + " --set train.loss_sync=false");
  const double walk_ms = ms(hf, "overhead_s") / 4;  // four walks per step
  CHECK(walk_ms == Approx(1130 * 54.0 / (4 * 2099)).epsilon(1e-9));
  CHECK(ms(hf, "step_s") - ms(plain, "step_s") == Approx(4 * walk_ms).epsilon(0.02));
  // Without the read the host runs ahead of a GPU busy for ~360 ms per micro-step: the three walks inside
  // the step are hidden, the next step's first one after the update is what remains.
  CHECK(ms(no_sync, "step_s") - ms(plain, "step_s") < 1.5 * walk_ms);
  CHECK(ms(no_sync, "overhead_s") == Approx(ms(hf, "overhead_s")));
}

TEST_CASE("the trace puts the loop's walk and loss read on the host track", "[loop][trace]") {
  const auto trace =
      zerosim::testing::zerosim_json_and_trace("simulate " + kSeed + " --set train.grad_accum=2",
                                               "/tmp/zerosim-test-loop-trace.json")
          .second;
  std::set<std::string> host;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0 && e["tid"] == 4) host.insert(e["name"].get<std::string>());
  for (const char* name : {"m0.loop.loss_sync", "m1.trainer.model_train", "m1.loop.loss_sync",
                           "m1.trainer.model_train.next_step"})
    CHECK(host.count(name) == 1);
}

TEST_CASE("train.loop and train.loss_sync: bad values are exit 2 naming the key", "[loop][errors]") {
  auto r = run_zerosim("simulate " + kSeed + " --set train.loop=accelerate");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err,
             Catch::Contains("train.loop") && Catch::Contains("hf-trainer") && Catch::Contains("plain"));
  r = run_zerosim("simulate " + kSeed + " --set train.loss_sync=often");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.loss_sync"));
}
