// Framework releases and who wraps the model, through the binary (docs/memory-model.md §8, docs/inputs.md):
// the keys are echoed, bad values refused with the key, and the rules move the memory the way the
// releases' code does.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;

namespace {

nlohmann::json memory(const std::string& sets) {
  const auto r = run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --format json " + sets);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

int64_t bytes(const nlohmann::json& j, const char* component) {
  return j["memory"]["breakdown"][component].get<int64_t>();
}

}  // namespace

TEST_CASE("versions.peft, train.engine, zero.zero3_init and peft.autocast_adapter_dtype are echoed",
          "[framework][cli]") {
  const auto j = memory("--set versions.peft=0.15.2 --set train.engine=pytorch");
  CHECK(j["config"]["versions"]["peft"] == "0.15.2");
  CHECK(j["config"]["versions"]["deepspeed"] == "0.19.5");
  CHECK(j["config"]["train"]["engine"] == "pytorch");
  CHECK(j["config"]["zero"]["zero3_init"] == true);
  CHECK(j["config"]["peft"]["autocast_adapter_dtype"] == true);
}

TEST_CASE("bad framework input is refused with the key", "[framework][errors]") {
  const std::string base = "memory --config workloads/configs/seed-dora-7b.yaml ";
  const auto peft = run_zerosim(base + "--set versions.peft=0.4.0");
  CHECK(peft.exit_code == 2);
  CHECK_THAT(peft.err, Catch::Contains("versions.peft") && Catch::Contains("0.5.0 to 0.20.0"));
  // The seed config's DoRA arrived in peft 0.9.0: a release in range that lacks it is refused too.
  const auto dora = run_zerosim(base + "--set versions.peft=0.8.2");
  CHECK(dora.exit_code == 2);
  CHECK_THAT(dora.err,
             Catch::Contains("versions.peft") && Catch::Contains("DoRA") && Catch::Contains("0.9.0"));
  const auto engine = run_zerosim(base + "--set train.engine=pytorch --set zero.stage=3");
  CHECK(engine.exit_code == 2);
  CHECK_THAT(engine.err, Catch::Contains("train.engine") && Catch::Contains("ZeRO stage 3"));
  TempDir dir;
  const std::string ds = dir.write("ds.json", R"({"zero_optimization": {"stage": 3, "zero3_init": true}})");
  const auto in_ds = run_zerosim(base + "--set deepspeed=" + ds);
  CHECK(in_ds.exit_code == 2);
  CHECK_THAT(in_ds.err, Catch::Contains("zero3_init"));
}

TEST_CASE("ZeRO-3 at DeepSpeed 0.19.3: the linear wrapper and fp32 adapters follow zero.Init",
          "[framework][cli]") {
  // Built outside zero.Init at 0.19.3: PyTorch's F.linear and bf16 adapters, the activations of stage 0.
  const auto stage0 = memory("");
  const auto outside = memory(
      "--set zero.stage=3 --set cluster.gpus=4 --set versions.deepspeed=0.19.3 "
      "--set zero.zero3_init=false");
  CHECK(bytes(outside, "activations") == bytes(stage0, "activations"));
  // Inside zero.Init: + 1,996,488,704 B of linear inputs + 3,210,215,424 B of fp32 adapter tensors
  // (test_framework_behaviour.cpp works both out).
  const auto inside = memory("--set zero.stage=3 --set cluster.gpus=4 --set versions.deepspeed=0.19.3");
  CHECK(bytes(inside, "activations") - bytes(outside, "activations") == 1'996'488'704 + 3'210'215'424);
}

TEST_CASE("versions.torch 2.0 doubles foreach AdamW's step temporaries and is echoed", "[framework][cli]") {
  // LLaMA-2-7B full fine-tuning in pure bf16 without DeepSpeed: 6,738,415,616 parameters x 2 B =
  // 13,476,831,232 B per intermediate, at the optimizer step (the peak): _foreach_sqrt(v) alone from 2.1,
  // with denom = _foreach_add(sqrt(v), eps) beside it up to 2.0.x.
  const std::string sets =
      "--set train.engine=pytorch --set train.optimizer=foreach --set train.grad_accum=2 --set "
      "peft.method=none "
      "--set train.precision=bf16-pure ";
  const auto now = memory(sets + "--set versions.torch=2.6");
  const auto old = memory(sets + "--set versions.torch=2.0.1");
  CHECK(now["config"]["versions"]["torch"] == "2.6.0");
  CHECK(old["config"]["versions"]["torch"] == "2.0.1");
  CHECK(now["memory"]["peak_at"] == "optimizer step");
  CHECK(bytes(now, "temporaries") == 13'476'831'232);
  CHECK(bytes(old, "temporaries") == 2 * 13'476'831'232);
  const auto bad =
      run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set versions.torch=1.13");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("versions.torch") && Catch::Contains("2.0.0 to 2.6.x"));
}
