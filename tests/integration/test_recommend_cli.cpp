// zerosim recommend end to end on the tiny model: every stage gets a verdict, the winner fits.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using zerosim::testing::run_zerosim;

TEST_CASE("recommend ranks fitting configurations per GPU count and explains each stage", "[recommend]") {
  const auto r = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2 --micro-batches 1,2 -j 2 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& recs = j["recommendations"];
  REQUIRE(recs.size() == 2);
  for (const auto& rec : recs) {
    REQUIRE(rec["stages"].size() == 4);
    REQUIRE_FALSE(rec["winner"].is_null());
    CHECK(rec["winner"]["fits"].get<bool>());
    // The winner is at least as fast as every stage's best, within the documented 1% tie.
    for (const auto& s : rec["stages"]) {
      CHECK_FALSE(s["reason"].get<std::string>().empty());
      if (!s["best"].is_null())
        CHECK(rec["winner"]["tokens_per_s"].get<double>() >= 0.99 * s["best"]["tokens_per_s"].get<double>());
    }
  }
  // On one tiny GPU nothing is communicated: stage 3 only adds hook time, so it cannot win.
  CHECK(recs[0]["winner"]["zero_stage"].get<int>() != 3);
}

TEST_CASE("recommend: bad input is exit 2", "[recommend][errors]") {
  auto r = run_zerosim("recommend --config tests/data/tiny-llama-dora.yaml --gpus 0");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--gpus"));
  r = run_zerosim("recommend --config tests/data/tiny-llama-dora.yaml --set zero.stage=9");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("zero.stage"));
}

TEST_CASE("recommend on a platform file without cluster.gpus compares all of the file's GPUs",
          "[recommend]") {
  const auto r = run_zerosim(
      "recommend --config tests/data/configs/dgx-a100-all-gpus.yaml --micro-batches 1 "
      "--checkpointing off -j 2 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["recommendations"].size() == 1);
  CHECK(j["recommendations"][0]["gpus"] == 8);  // the DGX A100 file has 8 GPU hosts
  CHECK(j["config"]["cluster"]["gpus"] == 8);
}

TEST_CASE("recommend's header describes the search space, not the base config's stage or GPU count",
          "[recommend]") {
  const auto r = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2 --micro-batches 1,2 --checkpointing off "
      "-j 2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith(
                        "zerosim recommend: models/tiny-llama.json, DoRA r=8 (q_proj,v_proj), a100-80gb-sxm, "
                        "seq 128, grad_accum 1, bf16-mixed\n"
                        "searched: GPUs 1, 2 x ZeRO stages 0-3 x micro-batch 1, 2 x "
                        "checkpointing off\n"));
  // The base config is ZeRO-0 on 1 GPU at micro-batch 1: none of that is echoed as if it were the answer.
  CHECK(r.out.find("ZeRO-0") == std::string::npos);
  CHECK(r.out.find("micro_batch 1") == std::string::npos);

  const auto j = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2 --micro-batches 1,2 --checkpointing off "
      "-j 2 "
      "--format json");
  REQUIRE(j.exit_code == 0);
  CHECK(nlohmann::json::parse(j.out)["search"] ==
        nlohmann::json::parse(R"({"gpus": [1, 2], "zero_stages": [0, 1, 2, 3], "micro_batches": [1, 2],
                                  "activation_checkpointing": [false]})"));
}
