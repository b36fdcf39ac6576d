// Real ds_config.json and config.json files through the binary (issue 13): a misspelt key, ZeRO++ and an
// inconsistent train_batch_size exit 2 naming the file and key; fp16-mixed runs with bf16-mixed's memory;
// bf16 disabled is DeepSpeed's fp32 training; a quantized checkpoint is refused.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

const std::string kTiny = "memory --config tests/data/tiny-llama-dora.yaml --format json";

std::string with_ds(const std::string& file) {
  return kTiny + " --set deepspeed=tests/data/deepspeed/" + file;
}

}  // namespace

TEST_CASE("ds_config refusals exit 2 naming the file and key", "[cli][deepspeed]") {
  struct Case {
    const char* file;
    const char* key;
    const char* why;
  };
  for (const Case& c : {Case{"typo-reduce-bucket.json", "'zero_optimization.reduce_bucket_sise'",
                             "did you mean 'reduce_bucket_size'?"},
                        Case{"zeropp.json", "zero_optimization.zero_", "not modelled yet"},
                        Case{"batch-mismatch.json", "'train_batch_size'", "1 x 2 x 1 = 2"}}) {
    INFO(c.file);
    const auto r = run_zerosim(with_ds(c.file));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("zerosim: error:"));
    CHECK_THAT(r.err, Catch::Contains(std::string("tests/data/deepspeed/") + c.file));
    CHECK_THAT(r.err, Catch::Contains(c.key));
    CHECK_THAT(r.err, Catch::Contains(c.why));
  }
}

TEST_CASE("fp16-mixed from a ds_config has bf16-mixed's memory", "[cli][deepspeed]") {
  const auto bf16 = run_zerosim(with_ds("hf-zero2-bf16.json"));
  const auto fp16 = run_zerosim(with_ds("fp16-zero2.json"));
  REQUIRE(bf16.exit_code == 0);
  REQUIRE(fp16.exit_code == 0);
  auto b = nlohmann::json::parse(bf16.out), f = nlohmann::json::parse(fp16.out);
  CHECK(b["config"]["train"]["precision"] == "bf16-mixed");
  CHECK(f["config"]["train"]["precision"] == "fp16-mixed");
  CHECK(b["config"]["zero"]["stage"] == 2);
  // Everything but the precision's name and the file names is the same.
  b["config"]["train"].erase("precision");
  f["config"]["train"].erase("precision");
  b.erase("config");
  f.erase("config");
  CHECK(b == f);
}

TEST_CASE("a ds_config enabling neither bf16 nor fp16 trains in fp32: 4 B weights and gradients",
          "[cli][deepspeed][fp32]") {
  const auto fp32 = run_zerosim(with_ds("bf16-disabled.json"));
  const auto bf16 = run_zerosim(with_ds("hf-zero2-bf16.json"));
  INFO(fp32.err);
  REQUIRE(fp32.exit_code == 0);
  REQUIRE(bf16.exit_code == 0);
  const auto f = nlohmann::json::parse(fp32.out), b = nlohmann::json::parse(bf16.out);
  CHECK(f["config"]["train"]["precision"] == "fp32");
  CHECK(f["config"]["train"]["tf32"] == false);
  // Both ZeRO-2 on one GPU: the frozen weights go from 2 to 4 B each.
  CHECK(f["memory"]["breakdown"]["frozen_params"].get<int64_t>() ==
        2 * b["memory"]["breakdown"]["frozen_params"].get<int64_t>());
}
