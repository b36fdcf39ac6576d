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
                  {"trainable_params", 0},
                  {"optimizer_states", 0},
                  {"gradients", 0},
                  {"buffers", gib(buffers_gib)},
                  {"temporaries", 0}}}}},
              {"time", {{"step_s", 1.0}, {"exposed_comm_s", 0.0}, {"overhead_s", 0.0}}},
              {"throughput", {{"tokens_per_s", tokens_per_s}}}};
  return c;
}

// The same candidate run with CPU offload: the time keys offload adds, and host RAM when given.
Candidate offloaded(Candidate c, const char* offload, double cpu_optimizer_s, double exposed_copy_s) {
  c.offload = offload;
  c.result["time"]["cpu_optimizer_s"] = cpu_optimizer_s;
  c.result["time"]["offload_copy_s"] = 2 * exposed_copy_s;
  c.result["time"]["exposed_offload_copy_s"] = exposed_copy_s;
  return c;
}

// memory.host as simulate writes it once host RAM is modelled: fits covers both, gpu_fits the GPU.
Candidate with_host(Candidate c, double host_per_node_gib, double host_capacity_gib) {
  const auto gib = [](double g) { return static_cast<int64_t>(g * zerosim::kBytesPerGiB); };
  auto& m = c.result["memory"];
  m["gpu_fits"] = m["fits"].get<bool>();
  m["host"] = {{"per_node_bytes", gib(host_per_node_gib)}, {"capacity_bytes", gib(host_capacity_gib)}};
  m["fits"] = m["gpu_fits"].get<bool>() && host_per_node_gib <= host_capacity_gib;
  return c;
}

}  // namespace

TEST_CASE("recommend picks the faster of two fitting configurations", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 1, 1000, 30, true), candidate(0, 2, 1500, 50, true)};
  const auto v = recommend(cs, OffloadMode::automatic);
  REQUIRE(v.size() == 1);
  REQUIRE(v[0].winner != nullptr);
  CHECK(v[0].winner->micro_batch == 2);
  CHECK(v[0].stages[0].reason.find("fastest that fits") != std::string::npos);
}

TEST_CASE("recommend never picks a configuration that does not fit", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 4, 9000, 95, false), candidate(3, 1, 800, 20, true, 1.5)};
  const auto v = recommend(cs, OffloadMode::automatic);
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
  const auto v = recommend(cs, OffloadMode::automatic);
  CHECK(v[0].winner->stage == 0);
  CHECK(v[0].stages[1].reason.find("gradient buckets +0.93 GiB") != std::string::npos);
  CHECK(v[0].stages[1].reason.find("peak +0.93 GiB vs stage 0") != std::string::npos);
}

TEST_CASE("nothing fits: no winner, every stage explained", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 1, 100, 90, false), candidate(3, 1, 90, 85, false)};
  const auto v = recommend(cs, OffloadMode::automatic);
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
  const auto v = recommend(cs, OffloadMode::automatic);
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
  const auto v = recommend(cs, OffloadMode::automatic);
  CHECK(v[0].winner == nullptr);
  CHECK(v[0].stages[3].reason ==
        "does not fit: needs at least 85.00 GiB (micro-batch 2 with checkpointing) of 80.00 GiB");
}

TEST_CASE("offload: in auto mode an offload candidate wins only where nothing without offload fits",
          "[recommend][offload]") {
  // Stage 0 fits at 1000 tokens/s; ZeRO-3 with the optimizer offloaded would be faster (hand-made,
  // to show the rule is not a matter of speed).
  const std::vector<Candidate> fits_without = {
      candidate(0, 1, 1000, 70, true),
      offloaded(candidate(3, 1, 2000, 20, true), kOffloadOptimizer, 0.5, 0.1)};
  auto v = recommend(fits_without, OffloadMode::automatic);
  REQUIRE(v[0].winner != nullptr);
  CHECK(v[0].winner->offload == "none");
  CHECK(v[0].winner->stage == 0);
  // always: offload competes on tokens/s like every other candidate.
  v = recommend(fits_without, OffloadMode::always);
  CHECK(v[0].winner->offload == "optimizer");
  // never: an offload candidate is never the answer.
  v = recommend(fits_without, OffloadMode::never);
  CHECK(v[0].winner->offload == "none");

  // Nothing fits without offload: the fastest offload variant that fits wins.
  const std::vector<Candidate> fits_only_with = {
      candidate(0, 1, 1000, 95, false), candidate(3, 1, 900, 85, false),
      offloaded(candidate(3, 1, 300, 60, true), kOffloadOptimizer, 0.8, 0.2),
      offloaded(candidate(3, 1, 200, 30, true), kOffloadOptimizerParam, 0.8, 0.6)};
  v = recommend(fits_only_with, OffloadMode::automatic);
  REQUIRE(v[0].winner != nullptr);
  CHECK(v[0].winner->offload == "optimizer");
  CHECK(recommend(fits_only_with, OffloadMode::never)[0].winner == nullptr);
}

TEST_CASE("offload: one row per (stage, offload) searched, after stages 0-3, reasons naming its costs",
          "[recommend][offload]") {
  const std::vector<Candidate> cs = {
      candidate(0, 1, 1000, 95, false), candidate(3, 1, 900, 85, false),
      offloaded(candidate(3, 1, 300, 60, true, 12.0), kOffloadOptimizer, 0.8125, 0.25),
      offloaded(candidate(3, 1, 200, 30, true), kOffloadOptimizerParam, 0.8, 0.6)};
  const auto v = recommend(cs, OffloadMode::automatic);
  REQUIRE(v[0].stages.size() == 6);  // 0-3 without offload, then ZeRO-3 with each offload searched
  CHECK(v[0].stages[3].offload == "none");
  CHECK(v[0].stages[4].stage == 3);
  CHECK(v[0].stages[4].offload == "optimizer");
  CHECK(v[0].stages[5].offload == "optimizer+param");
  CHECK(v[0].stages[4].best == v[0].winner);
  // Against stage 0 at micro-batch 1: peak 60 - 95 = -35 GiB, tokens/s 300 / 1000 - 1 = -70%; then
  // the CPU step (0.8125 s) and the copies the GPU waits for (0.25 s) from the time breakdown.
  CHECK(v[0].stages[4].reason ==
        "fastest that fits (micro-batch 1); peak -35.00 GiB vs stage 0; -70.0% tokens/s; "
        "CPU optimizer 812.5 ms, exposed offload copies 250.0 ms");
  CHECK(v[0].stages[5].reason.find("best at micro-batch 1;") == 0);
  CHECK(variant_name(3, kOffloadOptimizerParam) == "ZeRO-3 + offload optimizer+param");

  const std::string table = verdicts_table(v, "title");
  CHECK(table.find("8 GPUs: use ZeRO stage 3 + offload optimizer, micro-batch 1: 300 tokens/s") !=
        std::string::npos);
  CHECK(table.find(" ZeRO-3 + offload optimizer+param ") != std::string::npos);
  CHECK(table.find("*ZeRO-3 + offload optimizer ") != std::string::npos);

  const nlohmann::json j = verdicts_json(v);
  CHECK(j[0]["stages"][0]["offload"] == "none");
  CHECK(j[0]["stages"][5]["offload"] == "optimizer+param");
  CHECK(j[0]["winner"]["offload"] == "optimizer");
  CHECK(j[0]["winner"]["cpu_optimizer_s"] == 0.8125);
  CHECK(j[0]["winner"]["exposed_offload_copy_s"] == 0.25);
}

TEST_CASE("offload: a row whose GPU fits but whose host RAM does not says so", "[recommend][offload]") {
  // ZeRO-3 with optimizer and parameters offloaded: 30 GiB on the GPU of 80, but 8 ranks' fp32 master
  // weights, Adam states and gradients need 600 GiB of the node's 512 GiB. A larger micro-batch needs
  // the same host RAM and more GPU memory: the first of equals is named.
  const std::vector<Candidate> cs = {
      candidate(0, 1, 1000, 95, false),
      with_host(offloaded(candidate(3, 1, 200, 30, true), kOffloadOptimizerParam, 0.8, 0.6), 600, 512),
      with_host(offloaded(candidate(3, 2, 300, 40, true), kOffloadOptimizerParam, 0.8, 0.6), 600, 512),
      with_host(offloaded(candidate(3, 1, 300, 90, false), kOffloadOptimizer, 0.8, 0.6), 300, 512)};
  const auto v = recommend(cs, OffloadMode::automatic);
  CHECK(v[0].winner == nullptr);
  REQUIRE(v[0].stages.size() == 6);
  CHECK(v[0].stages[5].reason ==
        "does not fit: host RAM: needs 600.00 GiB per node of 512.00 GiB (micro-batch 1); GPU peak 30.00 GiB "
        "fits");
  // Where the GPU itself is too small, the GPU is the reason, as for every other row.
  CHECK(v[0].stages[4].reason == "does not fit: needs at least 90.00 GiB (micro-batch 1) of 80.00 GiB");
  CHECK(verdicts_table(v, "t").find("8 GPUs: nothing fits, CPU offload included") != std::string::npos);
}

TEST_CASE("offload: host RAM is named for an offload winner; equal runs prefer no offload",
          "[recommend][offload]") {
  const std::vector<Candidate> host = {
      candidate(0, 1, 1000, 95, false),
      with_host(offloaded(candidate(2, 1, 500, 50, true), kOffloadOptimizer, 0.5, 0.0), 100, 512)};
  auto v = recommend(host, OffloadMode::automatic);
  REQUIRE(v[0].winner != nullptr);
  CHECK_THAT(v[0].stages[4].reason, Catch::EndsWith("CPU optimizer 500.0 ms, exposed offload copies 0.0 ms, "
                                                    "host RAM 100.00 GiB per node of 512.00 GiB"));
  CHECK(verdicts_json(v)[0]["winner"]["host_per_node_bytes"] == int64_t{100} * 1024 * 1024 * 1024);

  // Same speed (within 1%): the run without offload ranks first, whichever is listed first, even with a
  // larger GPU peak.
  const std::vector<Candidate> equal = {
      offloaded(candidate(2, 1, 500, 40, true), kOffloadOptimizer, 0.5, 0.0), candidate(2, 1, 497, 50, true)};
  v = recommend(equal, OffloadMode::always);
  CHECK(v[0].winner->offload == "none");
  // A simulate JSON without the offload time keys (one run without offload) reads them as 0.
  CHECK(verdicts_json(v)[0]["winner"]["cpu_optimizer_s"] == 0.0);
  CHECK_FALSE(verdicts_json(v)[0]["winner"].contains("host_per_node_bytes"));
}

TEST_CASE("offload: auto searches the GPU counts where nothing fits; --offload values",
          "[recommend][offload]") {
  Candidate one = candidate(0, 1, 100, 95, false);
  one.gpus = 1;
  Candidate two = candidate(0, 1, 100, 95, false);
  two.gpus = 2;
  Candidate two_fits = candidate(3, 1, 100, 45, true);
  two_fits.gpus = 2;
  Candidate four = candidate(3, 1, 100, 95, false);
  four.gpus = 4;
  CHECK(gpu_counts_where_nothing_fits({one, two, two_fits, four}) == std::vector<int64_t>{1, 4});
  CHECK(gpu_counts_where_nothing_fits({two_fits}).empty());
  CHECK(parse_offload_mode("auto") == OffloadMode::automatic);
  CHECK(std::string(offload_mode_name(OffloadMode::always)) == "always");
  CHECK_THROWS_WITH(parse_offload_mode("cpu"), Catch::Contains("allowed: auto, never, always"));
  CHECK(offload_of("cpu", "none") == "optimizer");
  CHECK(offload_of("cpu", "cpu") == "optimizer+param");
  CHECK(offload_of("none", "none") == "none");
}

// 72 GiB of 80 is 90%: it fits the card, but not with a 13.3% margin (80 x 0.867 = 69.36 GiB
// usable); with a 5% margin (76 GiB usable) it does.
TEST_CASE("recommend refuses a peak inside the safety margin and says how much is usable", "[recommend]") {
  const std::vector<Candidate> cs = {candidate(0, 1, 1000, 72, true)};
  auto v = recommend(cs, OffloadMode::never, 0.133);
  REQUIRE(v.size() == 1);
  CHECK(v[0].winner == nullptr);
  CHECK_THAT(v[0].stages[0].reason, Catch::Contains("does not fit: needs at least 72.00 GiB"));
  CHECK_THAT(v[0].stages[0].reason, Catch::Contains("69.36 GiB usable with the 13.3% safety margin"));
  CHECK(gpu_counts_where_nothing_fits(cs, 0.133) == std::vector<int64_t>{8});
  v = recommend(cs, OffloadMode::never, 0.05);
  REQUIRE(v[0].winner != nullptr);
  CHECK(gpu_counts_where_nothing_fits(cs, 0.05).empty());
}
