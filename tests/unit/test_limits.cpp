// Arithmetic limits (issue 7): every size a user gives is bounded so that the int64 byte counts and
// double FLOP counts of the step cannot overflow. At each limit the largest accepted value resolves
// and gives finite, positive numbers (the sanitizer build runs these with UBSan's
// signed-integer-overflow and float-cast-overflow checks: an overflow there fails the test); one
// above is a ConfigError naming the key and the limit.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"
#include "workloads/memory_model.h"
#include "workloads/model_spec.h"
#include "workloads/run_config.h"
#include "workloads/step_program.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::test_data;

namespace {

RunConfig tiny_with(const std::vector<Override>& sets) {
  return run_config_from_yaml(YAML::LoadFile(test_data("tiny-llama-dora.yaml")),
                              test_data("tiny-llama-dora.yaml"), sets);
}

// Resolves, builds the step and predicts memory; checks every number is finite and positive.
void check_finite(const RunConfig& c) {
  const StepProgram program = build_step_program(c);
  const MemoryResult m = predict_memory(c, program);
  CHECK(m.peak_bytes > 0);
  CHECK(m.peak_allocated_bytes > 0);
  CHECK(m.breakdown.total() == m.peak_bytes);
  double flops = 0;
  for (const auto* ops : {&program.forward, &program.backward})
    for (const ComputeOp& op : *ops) {
      INFO(op.name);
      REQUIRE(std::isfinite(op.flops));
      REQUIRE(std::isfinite(op.bytes));
      REQUIRE(op.saved_bytes >= 0);
      REQUIRE(op.transient_bytes >= 0);
      flops += op.flops;
    }
  CHECK(std::isfinite(flops));
  CHECK(flops > 0);
  CHECK(std::isfinite(program.model_flops_per_token));
}

std::string llama_json(const std::string& extra) {
  // tiny-llama.json's shapes, with the keys of `extra` (a JSON object's members) replacing them.
  nlohmann::json j =
      nlohmann::json::parse(R"({"model_type": "llama", "hidden_size": 256, "intermediate_size": 688,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000})");
  if (!extra.empty()) j.update(nlohmann::json::parse("{" + extra + "}"));
  return j.dump();
}

}  // namespace

TEST_CASE("train and cluster sizes: the largest accepted value works, one above is exit 2 naming the limit",
          "[limits]") {
  struct Limit {
    const char* key;
    int64_t max;
  };
  for (const Limit& l : {Limit{"train.micro_batch", kMaxMicroBatch}, Limit{"train.seq_len", kMaxSeqLen},
                         Limit{"train.grad_accum", kMaxGradAccum}, Limit{"cluster.gpus", kMaxGpus}}) {
    INFO(l.key);
    const RunConfig at = tiny_with({{l.key, std::to_string(l.max)}});
    check_finite(at);
    const std::string msg = config_error_message([&] { tiny_with({{l.key, std::to_string(l.max + 1)}}); });
    CHECK_THAT(msg, Catch::Contains(l.key));
    CHECK_THAT(msg, Catch::Contains(std::to_string(l.max)));
  }
}

TEST_CASE(
    "the largest micro-batch x sequence with eager attention fits int64 (2^32 tokens, 2^54 probabilities)",
    "[limits]") {
  // micro_batch 4096 x seq_len 2^20 x 4 heads: the s x s probabilities are 2^54 elements per layer.
  const RunConfig c = tiny_with({{"train.micro_batch", "4096"},
                                 {"train.seq_len", "1048576"},
                                 {"train.flash_attention", "false"},
                                 {"zero.stage", "3"},
                                 {"cluster.gpus", "64"}});
  check_finite(c);
  const MemoryResult m = predict_memory(c);
  CHECK(m.peak_bytes > (int64_t{1} << 54));
  CHECK_FALSE(m.fits);
}

TEST_CASE("a run beyond 2^60 bytes per GPU is rejected naming the key that drives it", "[limits]") {
  // LLaMA-2-7B (32 layers, 32 heads) with eager attention over 2^20 tokens: 32 x 4096 x 32 x 2^40 x 8 > 2^60.
  const std::string eager = config_error_message([] {
    run_config_from_yaml(
        YAML::Load("model: llama2-7b"), "run.yaml",
        {{"train.micro_batch", "4096"}, {"train.seq_len", "1048576"}, {"train.flash_attention", "false"}});
  });
  CHECK_THAT(eager, Catch::Contains("train.seq_len"));
  CHECK_THAT(eager, Catch::Contains("2^60"));
  // With flash attention 2^32 tokens of a 7B model stay below the bound (about 2^59 bytes), but not
  // those of a 70B model (80 layers, hidden 8192, MLP 28672: about 2^61).
  const std::string tokens = config_error_message([] {
    run_config_from_yaml(YAML::Load("model: llama2-70b"), "run.yaml",
                         {{"train.micro_batch", "4096"}, {"train.seq_len", "1048576"}});
  });
  CHECK_THAT(tokens, Catch::Contains("train.micro_batch"));
  CHECK_THAT(tokens, Catch::Contains("2^60"));
  // And the 7B model at a long but sane context still resolves.
  check_finite(run_config_from_yaml(YAML::Load("model: llama2-7b"), "run.yaml",
                                    {{"train.micro_batch", "8"}, {"train.seq_len", "131072"}}));
}

TEST_CASE("config.json shapes: the largest accepted value works, one above is exit 2 naming key and limit",
          "[limits][model]") {
  struct Limit {
    const char* key;
    int64_t max;
    std::string others;  // other keys so that the maximum is a valid model
  };
  const int64_t k14 = int64_t{1} << 14;
  for (const Limit& l :
       {Limit{"hidden_size", int64_t{1} << 20, ""}, Limit{"intermediate_size", int64_t{1} << 23, ""},
        Limit{"vocab_size", int64_t{1} << 24, ""}, Limit{"num_hidden_layers", k14, ""},
        Limit{"num_attention_heads", k14, R"("hidden_size": 65536, "num_key_value_heads": 4)"},
        Limit{"head_dim", k14, ""}}) {
    INFO(l.key);
    const std::string extra = (l.others.empty() ? "" : l.others + ", ") + "\"" + l.key + "\": ";
    const ModelSpec m = model_from_hf_config(llama_json(extra + std::to_string(l.max)), "config.json");
    CHECK(m.total_params() > 0);
    RunConfig c = tiny_with({});
    c.model = m;
    resolve_targets(c.peft, c.model, "run.yaml");
    check_finite(c);
    const std::string msg = config_error_message(
        [&] { model_from_hf_config(llama_json(extra + std::to_string(l.max + 1)), "config.json"); });
    CHECK_THAT(msg, Catch::Contains(l.key));
    CHECK_THAT(msg, Catch::Contains(std::to_string(l.max)));
  }
}

TEST_CASE("config.json: shapes each within limits whose product is too large are rejected",
          "[limits][model]") {
  // 2^14 layers of hidden 2^20 x intermediate 2^23: about 2^60 parameters.
  const std::string huge = config_error_message([] {
    model_from_hf_config(
        llama_json(R"("hidden_size": 1048576, "intermediate_size": 8388608, "num_hidden_layers": 16384)"),
        "config.json");
  });
  CHECK_THAT(huge, Catch::Contains("2^44"));
  // heads x head_dim beyond 2^23.
  const std::string wide = config_error_message([] {
    model_from_hf_config(
        llama_json(R"("num_attention_heads": 16384, "num_key_value_heads": 4, "head_dim": 16384)"),
        "config.json");
  });
  CHECK_THAT(wide, Catch::Contains("num_attention_heads"));
  CHECK_THAT(wide, Catch::Contains("2^23"));
  // 1e300 and -1 are not sizes at all.
  CHECK_THAT(config_error_message(
                 [] { model_from_hf_config(llama_json(R"("hidden_size": 1e300)"), "config.json"); }),
             Catch::Contains("hidden_size"));
  CHECK_THAT(
      config_error_message([] { model_from_hf_config(llama_json(R"("vocab_size": -1)"), "config.json"); }),
      Catch::Contains("vocab_size"));
}

TEST_CASE("ds_config.json cannot bring in a micro-batch RUN.yaml would reject", "[limits][deepspeed]") {
  zerosim::testing::TempDir dir;
  dir.write("ds.json", R"({"train_micro_batch_size_per_gpu": 4097})");
  const std::string msg = config_error_message(
      [&] { run_config_from_yaml(YAML::Load("deepspeed: " + dir.path("ds.json")), dir.path("run.yaml")); });
  CHECK_THAT(msg, Catch::Contains("train_micro_batch_size_per_gpu"));
  CHECK_THAT(msg, Catch::Contains("4096"));
}
