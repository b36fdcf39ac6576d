// ds_config.json as DeepSpeed reads it (docs/inputs.md, "DeepSpeed ds_config.json"): unknown keys refused
// with the closest known one, aliases, precision blocks, the batch-size assertion, ZeRO++ refused.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "workloads/closest_name.h"
#include "workloads/deepspeed_config.h"
#include "workloads/run_config.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;

namespace {

// A run config that reads `ds` as its ds_config.json; `run` adds run-config lines.
RunConfig load_with(const TempDir& dir, const std::string& ds, const std::string& run = "") {
  dir.write("ds.json", ds);
  return load_run_config(dir.write("run.yaml", "deepspeed: ds.json\n" + run));
}

std::string error_with(const TempDir& dir, const std::string& ds, const std::string& run = "") {
  return config_error_message([&] { load_with(dir, ds, run); });
}

}  // namespace

TEST_CASE("edit distance and the closest name", "[deepspeed]") {
  // sise -> size: one substitution; overlap_com -> overlap_comm: one insertion.
  CHECK(edit_distance("reduce_bucket_sise", "reduce_bucket_size") == 1);
  CHECK(edit_distance("overlap_com", "overlap_comm") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);  // k->s, e->i, +g
  CHECK(closest_name("overlap_com", {"stage", "overlap_comm", "contiguous_gradients"}) == "overlap_comm");
  // "xyz" is 3 edits from "stage"'s nearest… further than max(2, 3/3) = 2: no guess.
  CHECK(closest_name("xyz", {"stage", "overlap_comm"}).empty());
}

TEST_CASE("ds_config: a misspelt key is refused with the closest valid key", "[deepspeed][errors]") {
  TempDir dir;
  const std::string sise = error_with(dir, R"({"bf16": {"enabled": true},
    "zero_optimization": {"stage": 2, "reduce_bucket_sise": 5e8}})");
  CHECK_THAT(sise, Catch::Contains(dir.path("ds.json")));
  CHECK_THAT(sise, Catch::Contains("'zero_optimization.reduce_bucket_sise'"));
  CHECK_THAT(sise, Catch::Contains("did you mean 'reduce_bucket_size'?"));
  const std::string com = error_with(
      dir, R"({"bf16": {"enabled": true}, "zero_optimization": {"stage": 2, "overlap_com": true}})");
  CHECK_THAT(com, Catch::Contains("did you mean 'overlap_comm'?"));
  // Inside the offload sub-blocks and the precision blocks too.
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "zero_optimization": {"stage": 3,
    "offload_param": {"device": "cpu", "pin_memroy": true}}})"),
             Catch::Contains("did you mean 'pin_memory'?"));
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabeld": true}})"), Catch::Contains("did you mean 'enabled'?"));
  // And at the top level (where DeepSpeed itself would silently ignore it).
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "train_micro_batch_size_per_gpus": 2})"),
             Catch::Contains("did you mean 'train_micro_batch_size_per_gpu'?"));
}

TEST_CASE("ds_config: DeepSpeed's field aliases and no-effect keys are accepted", "[deepspeed]") {
  TempDir dir;
  const RunConfig c = load_with(dir, R"({"bf16": {"enabled": true}, "gradient_clipping": 1.0,
    "optimizer": {"type": "AdamW", "params": {"lr": 1e-4, "weight_decay": 0.0}},
    "scheduler": {"type": "WarmupLR"}, "steps_per_print": 10, "wall_clock_breakdown": false,
    "zero_optimization": {"stage": 3, "prefetch_bucket_size": 1000, "param_persistence_threshold": 7,
      "max_live_parameters": 11, "max_reuse_distance": 13, "load_from_fp32_weights": true,
      "zero_hpz_partition_size": 1, "zero_quantized_weights": false, "cpu_offload_param": true}})");
  CHECK(c.zero.stage3_prefetch_bucket_size == 1000);
  CHECK(c.zero.stage3_param_persistence_threshold == 7);
  CHECK(c.zero.stage3_max_live_parameters == 11);
  CHECK(c.zero.stage3_max_reuse_distance == 13);
  CHECK(c.zero.offload_param == "cpu");  // the deprecated cpu_offload_param: true
  CHECK(c.train.precision == Precision::bf16_mixed);
  // Both spellings of one field are refused.
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "zero_optimization": {"stage": 3,
    "prefetch_bucket_size": 1, "stage3_prefetch_bucket_size": 2}})"),
             Catch::Contains("not both"));
}

TEST_CASE("ds_config: precision from the bf16 and fp16 blocks", "[deepspeed]") {
  TempDir dir;
  CHECK(load_with(dir, R"({"bf16": {"enabled": true}})").train.precision == Precision::bf16_mixed);
  CHECK(load_with(dir, R"({"fp16": {"enabled": true, "loss_scale": 0}})").train.precision ==
        Precision::fp16_mixed);
  CHECK(load_with(dir, R"({"bf16": {"enabled": true, "bf16_master_weights_and_grads": true,
    "bf16_optimizer_states": true}})")
            .train.precision == Precision::bf16_pure);
  // "auto": the run config's train.precision, as HF Trainer fills it.
  CHECK(load_with(dir, R"({"fp16": {"enabled": "auto"}})", "train: {precision: fp16-mixed}\n")
            .train.precision == Precision::fp16_mixed);
  SECTION("bf16 disabled and no fp16 is fp32 in DeepSpeed, never run as bf16") {
    CHECK(load_with(dir, R"({"bf16": {"enabled": false}})").train.precision == Precision::fp32);
    CHECK(load_with(dir, R"({"zero_optimization": {"stage": 1}})").train.precision == Precision::fp32);
    CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": false}})", "train: {precision: bf16-mixed}\n"),
               Catch::Contains("means fp32") && Catch::Contains("disagrees with train.precision"));
  }
  SECTION("disagreeing with train.precision, or both enabled") {
    CHECK_THAT(error_with(dir, R"({"fp16": {"enabled": true}})", "train: {precision: bf16-mixed}\n"),
               Catch::Contains("disagrees with train.precision"));
    CHECK_THAT(error_with(dir, R"({"fp16": {"enabled": true}, "bf16": {"enabled": true}})"),
               Catch::Contains("cannot both be enabled"));
  }
  SECTION("communication_data_type other than the training dtype") {
    CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "communication_data_type": "fp32"})"),
               Catch::Contains("'communication_data_type'") && Catch::Contains("not modelled yet"));
    CHECK(load_with(dir, R"({"bf16": {"enabled": true}, "communication_data_type": "bf16"})").zero.stage ==
          0);
  }
}

TEST_CASE("train.precision: fp16-mixed modelled with bf16-mixed's bytes; fp32 its own",
          "[config][deepspeed]") {
  TempDir dir;
  const RunConfig c = load_run_config(dir.write("run.yaml", "train: {precision: fp16-mixed}\n"));
  CHECK(c.train.precision == Precision::fp16_mixed);
  CHECK(std::string(precision_name(c.train.precision)) == "fp16-mixed");
  CHECK(has_fp32_master(Precision::fp16_mixed));
  CHECK_FALSE(has_fp32_master(Precision::bf16_pure));
  const RunConfig fp32 = load_run_config(dir.write("run2.yaml", "train: {precision: fp32}\n"));
  CHECK(fp32.train.precision == Precision::fp32);
  CHECK(std::string(precision_name(fp32.train.precision)) == "fp32");
  CHECK_FALSE(has_fp32_master(Precision::fp32));  // only ZeRO 1-3's clone (memory_model.cpp)
  CHECK_THAT(
      config_error_message([&] { load_run_config(dir.write("run3.yaml", "train: {precision: fp64}\n")); }),
      Catch::Contains("'train.precision'") && Catch::Contains("fp32"));
}

TEST_CASE("ds_config: train_batch_size = micro_batch x grad_accum x GPUs", "[deepspeed]") {
  TempDir dir;
  // 4 x 2 x 8 = 64: consistent.
  const RunConfig ok = load_with(dir,
                                 R"({"bf16": {"enabled": true}, "train_batch_size": 64,
    "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2})",
                                 "cluster: {gpus: 8}\n");
  CHECK(ok.train.micro_batch == 4);
  CHECK(ok.train.grad_accum == 2);
  // 4 x 2 x 4 = 32 != 64: DeepSpeed's _batch_assertion fails, so does zerosim.
  const std::string msg = error_with(dir, R"({"bf16": {"enabled": true}, "train_batch_size": 64,
    "train_micro_batch_size_per_gpu": 4, "gradient_accumulation_steps": 2})",
                                     "cluster: {gpus: 4}\n");
  CHECK_THAT(msg, Catch::Contains("'train_batch_size'") && Catch::Contains("4 x 2 x 4 = 32"));
  // Accumulation left out: derived as 64 / 4 / 4 = 4 (runtime/config.py _set_batch_related_parameters).
  CHECK(load_with(dir, R"({"bf16": {"enabled": true}, "train_batch_size": 64,
    "train_micro_batch_size_per_gpu": 4})",
                  "cluster: {gpus: 4}\n")
            .train.grad_accum == 4);
  // Only train_batch_size: no accumulation, micro-batch 64 / 8 = 8.
  const RunConfig only =
      load_with(dir, R"({"bf16": {"enabled": true}, "train_batch_size": 64})", "cluster: {gpus: 8}\n");
  CHECK(only.train.micro_batch == 8);
  CHECK(only.train.grad_accum == 1);
  // Not divisible: 64 / 3 / 5 = 4 (floor), 5 x 4 x 3 = 60 != 64.
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "train_batch_size": 64,
    "train_micro_batch_size_per_gpu": 5})",
                        "cluster: {gpus: 3}\n"),
             Catch::Contains("= 60"));
}

TEST_CASE("ds_config: ZeRO++ and other traffic-changing options are refused", "[deepspeed][errors]") {
  TempDir dir;
  for (const char* zpp : {R"("zero_quantized_weights": true)", R"("zero_quantized_gradients": true)",
                          R"("zero_hpz_partition_size": 8)", R"("zero_quantized_nontrainable_weights": true)",
                          R"("reduce_scatter": false)"}) {
    INFO(zpp);
    const std::string msg = error_with(
        dir, std::string(R"({"bf16": {"enabled": true}, "zero_optimization": {"stage": 3, )") + zpp + "}}");
    CHECK_THAT(msg, Catch::Contains("not modelled yet"));
    CHECK_THAT(msg, Catch::Contains(dir.path("ds.json")));
  }
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "optimizer": {"type": "Lamb"}})"),
             Catch::Contains("'optimizer.type'") && Catch::Contains("Adam, AdamW"));
  CHECK_THAT(error_with(dir, R"({"bf16": {"enabled": true}, "pipeline": {"stages": 2}})"),
             Catch::Contains("'pipeline'"));
}
