// zerosim recommend end to end on the tiny model: every stage gets a verdict, the winner fits.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "sim/batch/memory_margin.h"

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
  CHECK_THAT(r.out,
             Catch::StartsWith(
                 "zerosim recommend: models/tiny-llama.json, DoRA r=8 (q_proj,v_proj), a100-80gb-sxm, "
                 "seq 128, grad_accum 1, bf16-mixed\n"
                 "searched: GPUs 1, 2 x ZeRO stages 0-3 x micro-batch 1, 2 x "
                 "checkpointing off\n"
                 "offload: auto (not needed: something fits without offload at every GPU count)\n"
                 "fits: GPU peak <= 86.6% of the GPU's memory (safety margin 13.4%, --memory-margin; the "
                 "default is zerosim's largest validated under-prediction)\n\n"));
  // The base config is ZeRO-0 on 1 GPU at micro-batch 1: none of that is echoed in the header as if it
  // were the answer (the table's rows name every stage, ZeRO-0 included).
  const std::string header = r.out.substr(0, r.out.find("\n\n"));
  CHECK(header.find("ZeRO-0") == std::string::npos);
  CHECK(r.out.find("micro_batch 1") == std::string::npos);

  const auto j = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2 --micro-batches 1,2 --checkpointing off "
      "-j 2 "
      "--format json");
  REQUIRE(j.exit_code == 0);
  // Something fits at both GPU counts, so --offload auto (the default) searched no offload variant.
  CHECK(nlohmann::json::parse(j.out)["search"] ==
        nlohmann::json::parse(R"({"gpus": [1, 2], "zero_stages": [0, 1, 2, 3], "micro_batches": [1, 2],
                                  "activation_checkpointing": [false],
                                  "offload": {"mode": "auto", "gpus": []},
                                  "memory_margin": 0.134, "global_batch": null, "optimizers": []})"));
}

// LLaMA-2-13B full fine-tuning on one A100-40GB: 24 GiB of bf16 weights plus 145 GiB of fp32 master
// weights and Adam states fit under no ZeRO stage; offloading them to the CPU is the only way.
TEST_CASE("recommend --offload auto proposes CPU offload where nothing else fits; never reports nothing fits",
          "[recommend][offload]") {
  const std::string base =
      "recommend --config tests/data/configs/llama2-13b-full-a100-40gb.yaml --micro-batches 1 "
      "--checkpointing on "
      "-j 2 --format json";
  const auto r = run_zerosim(base);  // --offload auto is the default
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["search"]["offload"] == nlohmann::json::parse(R"({"mode": "auto", "gpus": [1]})"));
  const auto& rec = j["recommendations"][0];
  REQUIRE_FALSE(rec["winner"].is_null());
  CHECK(rec["winner"]["offload"] != "none");
  CHECK(rec["winner"]["fits"].get<bool>());
  CHECK(rec["winner"]["cpu_optimizer_s"].get<double>() > 0);
  // Rows: stages 0-3 without offload (none fits), then ZeRO-1/2/3 + optimizer, ZeRO-3 + optimizer+param.
  REQUIRE(rec["stages"].size() == 8);
  const char* offloads[] = {"none",      "none",      "none",      "none",
                            "optimizer", "optimizer", "optimizer", "optimizer+param"};
  const int stages[] = {0, 1, 2, 3, 1, 2, 3, 3};
  for (size_t i = 0; i < 8; ++i) {
    const auto& row = rec["stages"][i];
    CHECK(row["stage"] == stages[i]);
    CHECK(row["offload"] == offloads[i]);
    if (i < 4) CHECK(row["best"].is_null());
    if (!row["best"].is_null())
      CHECK(rec["winner"]["tokens_per_s"].get<double>() >= 0.99 * row["best"]["tokens_per_s"].get<double>());
  }
  // The winner's reason names what offload costs in the step.
  for (const auto& row : rec["stages"])
    if (row["best"] == rec["winner"]) {
      CHECK_THAT(row["reason"].get<std::string>(), Catch::StartsWith("fastest that fits"));
      CHECK_THAT(row["reason"].get<std::string>(), Catch::Contains("CPU optimizer"));
      CHECK_THAT(row["reason"].get<std::string>(), Catch::Contains("exposed offload copies"));
    }

  const auto never = run_zerosim(base + " --offload never");
  INFO(never.err);
  REQUIRE(never.exit_code == 0);
  const auto n = nlohmann::json::parse(never.out);
  CHECK(n["search"]["offload"] == nlohmann::json::parse(R"({"mode": "never", "gpus": []})"));
  CHECK(n["recommendations"][0]["winner"].is_null());
  CHECK(n["recommendations"][0]["stages"].size() == 4);

  const auto table = run_zerosim(
      "recommend --config tests/data/configs/llama2-13b-full-a100-40gb.yaml --micro-batches 1 "
      "--checkpointing on "
      "-j 2 --offload never");
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out,
             Catch::Contains("1 GPU: nothing fits (try more GPUs, checkpointing, a shorter sequence or "
                             "CPU offload: --offload auto)"));
}

TEST_CASE("recommend --offload always ranks the offload variants with the rest at every GPU count",
          "[recommend][offload]") {
  const auto r = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2 --micro-batches 1 --checkpointing off "
      "--offload always -j 2 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["search"]["offload"] == nlohmann::json::parse(R"({"mode": "always", "gpus": [1, 2]})"));
  for (const auto& rec : j["recommendations"]) {
    REQUIRE(rec["stages"].size() == 8);
    REQUIRE_FALSE(rec["winner"].is_null());
    for (const auto& row : rec["stages"])
      if (!row["best"].is_null()) {
        CHECK(row["best"]["offload"] == row["offload"]);
        CHECK(rec["winner"]["tokens_per_s"].get<double>() >=
              0.99 * row["best"]["tokens_per_s"].get<double>());
      }
  }
  const auto bad = run_zerosim("recommend --config tests/data/tiny-llama-dora.yaml --offload cpu");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--offload"));
}

TEST_CASE("recommend keeps the validated memory margin free, and --memory-margin changes it", "[recommend]") {
  const char* base = "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1 --micro-batches 1 -j 2";
  auto r = run_zerosim(std::string(base) + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["search"]["memory_margin"] == Approx(zerosim::kValidatedMemoryMargin));
  r = run_zerosim(std::string(base));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("fits: GPU peak <= 86.6% of the GPU's memory (safety margin 13.4%"));
  r = run_zerosim(std::string(base) + " --memory-margin 0 --format json");
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["search"]["memory_margin"] == 0.0);
  for (const char* bad : {"-0.1", "0.5", "nan"}) {
    r = run_zerosim(std::string(base) + " --memory-margin " + bad);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--memory-margin"));
  }
}

TEST_CASE("recommend --global-batch: each candidate accumulates global / (micro-batch x GPUs)",
          "[recommend]") {
  const auto r = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1,2,4 --micro-batches 1,2,4 "
      "--checkpointing off --global-batch 8 -j 2 --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["search"]["global_batch"] == 8);
  for (const auto& rec : j["recommendations"]) {
    const int64_t gpus = rec["gpus"].get<int64_t>();
    REQUIRE_FALSE(rec["winner"].is_null());
    // Every winner reaches the global batch exactly: micro-batch x grad_accum x GPUs = 8.
    CHECK(rec["winner"]["micro_batch"].get<int64_t>() * rec["winner"]["grad_accum"].get<int64_t>() * gpus ==
          8);
    for (const auto& s : rec["stages"])
      if (!s["best"].is_null())
        CHECK(s["best"]["micro_batch"].get<int64_t>() * s["best"]["grad_accum"].get<int64_t>() * gpus == 8);
  }
  // 3 sequences cannot be split over 2 GPUs: nothing is a candidate there, and the rows say why.
  const auto odd = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 2 --micro-batches 1 --checkpointing off "
      "--global-batch 3 -j 2 --format json");
  REQUIRE(odd.exit_code == 0);
  const auto jo = nlohmann::json::parse(odd.out);
  CHECK(jo["recommendations"][0]["winner"].is_null());
  CHECK_THAT(jo["recommendations"][0]["stages"][0]["reason"].get<std::string>(),
             Catch::Contains("global batch 3 is not a multiple of micro-batch x GPUs = 2"));
  // --headroom is --memory-margin's other name; a negative global batch is exit 2.
  auto h = run_zerosim(
      "recommend --config tests/data/tiny-llama-dora.yaml --gpus 1 --micro-batches 1 --headroom 0.2 -j 2 "
      "--format json");
  REQUIRE(h.exit_code == 0);
  CHECK(nlohmann::json::parse(h.out)["search"]["memory_margin"] == Approx(0.2));
  h = run_zerosim("recommend --config tests/data/tiny-llama-dora.yaml --global-batch -4");
  CHECK(h.exit_code == 2);
  CHECK_THAT(h.err, Catch::Contains("--global-batch"));
}

TEST_CASE(
    "recommend --optimizers compares train.optimizer values; bitsandbytes' 8-bit states fit where "
    "FusedAdam's do not",
    "[recommend][bnb]") {
  // Llama-3.2-3B full fine-tuning, 1 x 1024 tokens with checkpointing, one A100-80GB at stage 0 only by
  // way of a 40% margin (47.5 GiB usable): FusedAdam's 12 B per parameter of master and states do not fit in
  // it (61.6 GiB), bitsandbytes' 4 B master + ~2 B of 8-bit states do.
  const std::string base =
      "recommend --config workloads/configs/seed-dora-7b.yaml --set "
      "model=tests/validation/models/llama-3.2-3b.json "
      "--set peft.method=none --set train.seq_len=1024 --micro-batches 1 --checkpointing on --offload never "
      "--memory-margin 0.40 -j 2 --format json";
  const auto both = run_zerosim(base + " --optimizers fused,bnb-8bit");
  INFO(both.err);
  REQUIRE(both.exit_code == 0);
  const auto j = nlohmann::json::parse(both.out);
  CHECK(j["search"]["optimizers"] == nlohmann::json({"fused", "bnb-8bit"}));
  const auto& winner = j["recommendations"][0]["winner"];
  REQUIRE_FALSE(winner.is_null());
  CHECK(winner["optimizer"] == "bnb-8bit");
  CHECK(winner["zero_stage"] == 0);
  // FusedAdam alone: stage 0 does not fit in that budget.
  const auto fused = run_zerosim(base + " --optimizers fused");
  REQUIRE(fused.exit_code == 0);
  CHECK(nlohmann::json::parse(fused.out)["recommendations"][0]["stages"][0]["best"].is_null());
  // A name zerosim does not model is refused by the option itself.
  const auto bad = run_zerosim(base + " --optimizers adafactor");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--optimizers"));
}
