// Reserved memory through the binary: the caching-allocator replay behind `memory.peak_reserved_bytes` and
// `breakdown.fragmentation` (docs/memory-model.md §5), the memory.allocator and train.seq_len_distribution
// keys, the fixed memory.fragmentation override, and their bad input (exit 2, one line naming the key).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

const std::string kSeed = "memory --config workloads/configs/seed-dora-7b.yaml --format json";

nlohmann::json memory_json(const std::string& sets) {
  const auto r = run_zerosim(kSeed + sets);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("memory: peak_reserved is the allocator replay's, fragmentation the excess over allocated",
          "[integration][memory][allocator]") {
  const nlohmann::json j = memory_json("");
  CHECK(j["config"]["memory"]["fragmentation"] == "replay");
  CHECK(j["config"]["memory"]["allocator"]["expandable_segments"] == false);
  CHECK(j["config"]["memory"]["allocator"]["max_split_size_mb"].is_null());
  const auto& m = j["memory"];
  const int64_t allocated = m["peak_allocated_bytes"], reserved = m["peak_reserved_bytes"];
  CHECK(allocated == 25'706'897'408);  // the walk of docs/memory-model.md §7, unchanged
  CHECK(reserved % 2'097'152 == 0);    // a sum of cudaMalloc segments, each a multiple of 2 MiB
  CHECK(m["breakdown"]["fragmentation"] == reserved - allocated);
  // The 125 MiB block of the loss forward's bf16 logits (2·T·V) stays cached through the loss backward.
  CHECK(reserved - allocated >= 131'072'000);
  CHECK(m["peak_bytes"] == reserved + m["breakdown"]["runtime_overhead"].get<int64_t>());
  // One GPU, stage 0: every segment is the compute stream's.
  CHECK(m["reserved_by_stream"]["compute"] == reserved);
  CHECK(m["reserved_by_stream"]["all_gather"] == 0);

  SECTION("ZeRO-3 on 8 GPUs: the gathered parameters' segments are the all-gather stream's") {
    const nlohmann::json z = memory_json(" --set zero.stage=3 --set cluster.gpus=8");
    const auto& by = z["memory"]["reserved_by_stream"];
    CHECK(by["all_gather"].get<int64_t>() > 0);
    CHECK(by["compute"].get<int64_t>() + by["all_gather"].get<int64_t>() ==
          z["memory"]["peak_reserved_bytes"].get<int64_t>());
  }
  SECTION("a fixed memory.fragmentation has no per-stream figures") {
    CHECK_FALSE(memory_json(" --set memory.fragmentation=0.1")["memory"].contains("reserved_by_stream"));
  }
  SECTION("expandable segments: less reserved, same allocated") {
    const nlohmann::json e = memory_json(" --set memory.allocator.expandable_segments=true");
    CHECK(e["config"]["memory"]["allocator"]["expandable_segments"] == true);
    CHECK(e["memory"]["peak_allocated_bytes"] == allocated);
    CHECK(e["memory"]["peak_reserved_bytes"].get<int64_t>() < reserved);
  }
  SECTION("a fixed memory.fragmentation reproduces the former factor") {
    const nlohmann::json f = memory_json(" --set memory.fragmentation=0.1");
    CHECK(f["config"]["memory"]["fragmentation"] == Approx(0.1));
    // 0.1 · (11,584,667,648 + 524,288,000) = 1,210,895,564.8 → 1,210,895,565
    CHECK(f["memory"]["breakdown"]["fragmentation"] == 1'210'895'565);
    CHECK(f["memory"]["peak_reserved_bytes"] == allocated + 1'210'895'565);
  }
  SECTION("variable-length batches are echoed and replayed") {
    const nlohmann::json v = memory_json(" --set 'train.seq_len_distribution=[1024, 512]'");
    CHECK(v["config"]["train"]["seq_len_distribution"] == nlohmann::json({1024, 512}));
    // The longest listed micro-batch sets the live set: below the fixed 2048 tokens.
    CHECK(v["memory"]["peak_allocated_bytes"].get<int64_t>() < allocated);
    CHECK(v["memory"]["breakdown"]["fragmentation"] ==
          v["memory"]["peak_reserved_bytes"].get<int64_t>() -
              v["memory"]["peak_allocated_bytes"].get<int64_t>());
  }
}

TEST_CASE("memory: allocator keys refuse what PyTorch refuses", "[integration][memory][allocator][errors]") {
  struct Case {
    std::string sets;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {"memory.fragmentation=1.5", {"memory.fragmentation", "replay"}},
      {"memory.allocator.max_split_size_mb=16", {"memory.allocator.max_split_size_mb", "21"}},
      {"memory.allocator.roundup_power2_divisions=6",
       {"memory.allocator.roundup_power2_divisions", "power of two"}},
      {"memory.allocator.garbage_collection_threshold=0.8",
       {"memory.allocator.garbage_collection_threshold"}},
      {"train.seq_len_distribution=[4096]", {"train.seq_len_distribution[0]", "2048"}},
      {"train.seq_len_distribution=normal", {"train.seq_len_distribution", "fixed, ramp"}},
  };
  for (const auto& c : cases) {
    INFO("--set " << c.sets);
    const auto r = run_zerosim(kSeed + " --set '" + c.sets + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    INFO("stderr: " << r.err);
    for (const auto& m : c.mentions) CHECK_THAT(r.err, Catch::Contains(m));
  }
  // Both at once: one of them would be ignored.
  const auto r =
      run_zerosim(kSeed + " --set memory.fragmentation=0.1 --set memory.allocator.expandable_segments=true");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("memory.allocator") && Catch::Contains("no effect"));
}

TEST_CASE("memory: a step that fits only by freeing the allocator's cache says so",
          "[integration][memory][allocator]") {
  const auto r = run_zerosim(kSeed +
                             " --set peft.method=none --set cluster.gpus=8 --set zero.stage=2"
                             " --set memory.cuda_context_gib=40");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["memory"]["fits"] == true);
  REQUIRE(j["warnings"].size() == 1);
  CHECK_THAT(j["warnings"][0].get<std::string>(), Catch::Contains("frees its cached blocks") &&
                                                      Catch::Contains("once") &&
                                                      Catch::Contains("expandable_segments"));
  CHECK_THAT(r.err, Catch::Contains("zerosim: warning: the step fits only because"));
  // The seed itself has room: no warning.
  CHECK(memory_json("")["warnings"].empty());
}
