// recommend's choice and reasons, on hand-made simulate results.
#include <catch2/catch.hpp>

#include "sim/batch/recommendation.h"
#include "workloads/units.h"

using namespace zerosim;

namespace {

// A simulate JSON with just what recommend reads.
Candidate candidate(int stage, int64_t mb, double tokens_per_s, double peak_gib, bool fits,
                    double frozen_gib = 12.0, double buffers_gib = 0.0) {
  Candidate c;
  c.gpus = 8;
  c.stage = stage;
  c.micro_batch = mb;
  const auto gib = [](double g) { return static_cast<int64_t>(g * zerosim::kBytesPerGiB); };
  c.result = {{"memory",
               {{"peak_bytes", gib(peak_gib)},
                {"capacity_bytes", gib(80)},
                {"fits", fits},
                {"breakdown",
                 {{"frozen_params", gib(frozen_gib)},
                  {"optimizer_states", 0},
                  {"gradients", 0},
                  {"buffers", gib(buffers_gib)},
                  {"temporaries", 0}}}}},
              {"time", {{"step_s", 1.0}, {"exposed_comm_s", 0.0}, {"overhead_s", 0.0}}},
              {"throughput", {{"tokens_per_s", tokens_per_s}}}};
  return c;
}

}  // namespace

TEST_CASE("recommend picks the faster of two fitting configurations", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 1, 1000, 30, true), candidate(0, 2, 1500, 50, true)};
  const auto v = recommend(cs);
  REQUIRE(v.size() == 1);
  REQUIRE(v[0].winner != nullptr);
  CHECK(v[0].winner->micro_batch == 2);
  CHECK(v[0].stages[0].reason.find("fastest that fits") != std::string::npos);
}

TEST_CASE("recommend never picks a configuration that does not fit", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 4, 9000, 95, false), candidate(3, 1, 800, 20, true, 1.5)};
  const auto v = recommend(cs);
  REQUIRE(v[0].winner != nullptr);
  CHECK(v[0].winner->stage == 3);
  // Stage 0 only has a configuration that does not fit: the reason says how much it needs.
  CHECK(v[0].stages[0].best == nullptr);
  CHECK(v[0].stages[0].reason == "does not fit: needs at least 95.00 GiB (micro-batch 4) of 80.00 GiB");
}

TEST_CASE("within 1% the smaller memory wins; the reason shows what a stage adds", "[recommend]") {
  // Stage 1 is 0.1% faster but carries a 0.93 GiB gradient bucket: stage 0 is the recommendation.
  const std::vector<Candidate> cs = {candidate(0, 1, 10000, 26.07, true),
                                     candidate(1, 1, 10010, 27.00, true, 12.0, 0.93)};
  const auto v = recommend(cs);
  CHECK(v[0].winner->stage == 0);
  CHECK(v[0].stages[1].reason.find("gradient buckets +0.93 GiB") != std::string::npos);
  CHECK(v[0].stages[1].reason.find("peak +0.93 GiB vs stage 0") != std::string::npos);
}

TEST_CASE("nothing fits: no winner, every stage explained", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 1, 100, 90, false), candidate(3, 1, 90, 85, false)};
  const auto v = recommend(cs);
  CHECK(v[0].winner == nullptr);
  CHECK(v[0].stages[2].reason == "no successful simulation");
}

TEST_CASE("every stage's reason in full: winner, runner-up, failed run, no run", "[recommend]") {
  Candidate failed;
  failed.gpus = 8;
  failed.stage = 2;
  failed.micro_batch = 1;
  failed.error = "child exited with status 1";
  const std::vector<Candidate> cs = {candidate(0, 1, 10000, 26.07, true),
                                     candidate(1, 1, 10010, 27.00, true, 12.0, 0.93), failed};
  const auto v = recommend(cs);
  REQUIRE(v.size() == 1);
  REQUIRE(v[0].stages.size() == 4);
  // Stage 0 wins (within 1%, less memory); with no stage to compare against, it says what it communicates.
  CHECK(v[0].stages[0].reason ==
        "fastest that fits (micro-batch 1); no parameter traffic, 0.0 ms exposed communication");
  // Stage 1 against stage 0: buffers 0.93 - 0 GiB, peak 27.00 - 26.07 = 0.93 GiB,
  // tokens/s 10010 / 10000 - 1 = +0.1%; no exposed communication or hook time either side.
  CHECK(v[0].stages[1].reason ==
        "best at micro-batch 1; gradient buckets +0.93 GiB: peak +0.93 GiB vs stage 0; +0.1% tokens/s");
  CHECK(v[0].stages[2].best == nullptr);
  CHECK(v[0].stages[2].reason == "no successful simulation: child exited with status 1");
  CHECK(v[0].stages[3].reason == "no successful simulation");
}

TEST_CASE("a stage that does not fit names its smallest run, the first of equals", "[recommend]") {
  Candidate ckpt = candidate(3, 2, 500, 85, false);
  ckpt.checkpointing = true;
  const std::vector<Candidate> cs = {candidate(3, 4, 900, 95, false), ckpt, candidate(3, 1, 800, 85, false)};
  const auto v = recommend(cs);
  CHECK(v[0].winner == nullptr);
  CHECK(v[0].stages[3].reason ==
        "does not fit: needs at least 85.00 GiB (micro-batch 2 with checkpointing) of 80.00 GiB");
}
