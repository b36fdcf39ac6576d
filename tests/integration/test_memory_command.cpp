// `zerosim memory` end to end: the real binary on the bundled seed config (workloads/configs/) and the
// GPU catalogue (platforms/gpus.yaml): docs/architecture.md's JSON keys and types for ZeRO stage 0-3 on 1, 2,
// 4, 8 GPUs, the table and CSV formats, bad input → exit 2 with one line naming file and key, OOM as a
// result.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {

const std::string kSeed = "memory --config workloads/configs/seed-dora-7b.yaml";

size_t count_lines(const std::string& text) {
  size_t n = 0;
  for (char ch : text) n += ch == '\n';
  return n;
}

}  // namespace

TEST_CASE("memory --format json prints the §4 keys with the right types for S in 0..3 and N in 1,2,4,8",
          "[integration][memory]") {
  for (int stage = 0; stage <= 3; ++stage) {
    for (int gpus : {1, 2, 4, 8}) {
      INFO("stage " << stage << ", gpus " << gpus);
      const auto r = run_zerosim(kSeed + " --set zero.stage=" + std::to_string(stage) +
                                 " --set cluster.gpus=" + std::to_string(gpus) + " --format json");
      REQUIRE(r.exit_code == 0);
      CHECK(r.err.empty());
      const nlohmann::json j = nlohmann::json::parse(r.out);
      REQUIRE(j.contains("config"));
      CHECK(j["config"].is_object());
      CHECK(j["config"]["zero"]["stage"] == stage);
      CHECK(j["config"]["cluster"]["gpus"] == gpus);

      const auto& params = j.at("params");
      for (const char* key : {"total", "trainable", "frozen"}) {
        INFO(key);
        CHECK(params.at(key).is_number_integer());
      }
      // LLaMA-2-7B + DoRA r=16 on q,v: 6,738,415,616 frozen + 8,650,752 trainable.
      CHECK(params["trainable"] == 8'650'752);
      CHECK(params["frozen"] == 6'738'415'616LL);
      CHECK(params["total"] == 6'747'066'368LL);

      const auto& mem = j.at("memory");
      for (const char* key : {"peak_bytes", "peak_allocated_bytes", "capacity_bytes"}) {
        INFO(key);
        CHECK(mem.at(key).is_number_integer());
      }
      CHECK(mem.at("fits").is_boolean());
      const auto& b = mem.at("breakdown");
      int64_t sum = 0;
      for (const char* key : {"frozen_params", "trainable_params", "gradients", "optimizer_states",
                              "activations", "temporaries", "buffers", "runtime_overhead"}) {
        INFO(key);
        REQUIRE(b.at(key).is_number_integer());
        CHECK(b[key].get<int64_t>() >= 0);
      }
      for (auto it = b.begin(); it != b.end(); ++it) sum += it.value().get<int64_t>();
      CHECK(sum == mem["peak_bytes"].get<int64_t>());
      CHECK(mem["peak_allocated_bytes"].get<int64_t>() <= mem["peak_bytes"].get<int64_t>());
      CHECK(mem["fits"] == (mem["peak_bytes"].get<int64_t>() <= mem["capacity_bytes"].get<int64_t>()));
      // memory does not simulate: no time or throughput sections.
      CHECK_FALSE(j.contains("time"));
    }
  }
}

TEST_CASE("memory JSON is deterministic", "[integration][memory]") {
  const auto a = run_zerosim(kSeed + " --set zero.stage=3 --set cluster.gpus=4 --format json");
  const auto b = run_zerosim(kSeed + " --set zero.stage=3 --set cluster.gpus=4 --format json");
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
}

TEST_CASE("the default table is labelled in GiB with a verdict", "[integration][memory]") {
  const auto r = run_zerosim(kSeed);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("GiB"));
  CHECK_THAT(r.out, Catch::Contains("llama2-7b"));
  CHECK_THAT(r.out, Catch::Contains("DoRA"));
  CHECK_THAT(r.out, Catch::Contains("verdict: fits"));
  for (const char* row : {"frozen_params", "optimizer_states", "activations", "runtime_overhead"})
    CHECK_THAT(r.out, Catch::Contains(row));
}

TEST_CASE("csv is one header line and one row with the same number of fields", "[integration][memory]") {
  const auto r = run_zerosim(kSeed + " --set zero.stage=2 --set cluster.gpus=2 --format csv");
  REQUIRE(r.exit_code == 0);
  REQUIRE(count_lines(r.out) == 2);
  std::istringstream in(r.out);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  CHECK_THAT(header, Catch::Contains("memory.peak_bytes"));
  CHECK_THAT(header, Catch::Contains("memory.breakdown.activations"));
  CHECK_THAT(header, Catch::Contains("params.trainable"));
  auto fields = [](const std::string& s) {
    size_t n = 1;
    bool quoted = false;
    for (char ch : s) {
      if (ch == '"') quoted = !quoted;
      n += (ch == ',' && !quoted);
    }
    return n;
  };
  CHECK(fields(header) == fields(row));
}

TEST_CASE("an out-of-memory case is a result: exit 0, fits false", "[integration][memory]") {
  // Full fine-tuning of LLaMA-2-7B on one RTX 3090: 16 B/param ≈ 108 GB ≫ 23.69 GiB.
  const auto r = run_zerosim(kSeed + " --set peft.method=none --set cluster.gpu=rtx-3090 --format json");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["memory"]["fits"] == false);
  CHECK(j["memory"]["peak_bytes"].get<int64_t>() > j["memory"]["capacity_bytes"].get<int64_t>());
  const auto table = run_zerosim(kSeed + " --set peft.method=none --set cluster.gpu=rtx-3090");
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("OUT OF MEMORY"));
}

TEST_CASE("bad input: exit code 2 and one line naming the file (or --set) and the key",
          "[integration][memory][errors]") {
  struct Case {
    const char* what;
    std::string args;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {"missing config file",
       "memory --config workloads/configs/no-such.yaml",
       {"workloads/configs/no-such.yaml"}},
      {"unknown key", kSeed + " --set zero.stgae=3", {"--set: key 'zero.stgae'", "stage"}},
      {"stage 5", kSeed + " --set zero.stage=5", {"--set: key 'zero.stage'", "0, 1, 2, 3"}},
      {"bad --set syntax", kSeed + " --set zero.stage", {"--set", "key=value"}},
      {"--format xml", kSeed + " --format xml", {"--format", "xml", "table"}},
      {"unknown GPU", kSeed + " --set cluster.gpu=h300", {"--set: key 'cluster.gpu'", "a100-80gb-sxm"}},
      {"unknown preset", kSeed + " --set model=llama9", {"--set: key 'model'", "llama2-7b"}},
      {"r too large", kSeed + " --set peft.r=5000", {"--set: key 'peft.r'", "4096"}},
      {"r zero", kSeed + " --set peft.r=0", {"--set: key 'peft.r'"}},
      {"seq_len zero", kSeed + " --set train.seq_len=0", {"--set: key 'train.seq_len'"}},
      {"unknown target module",
       kSeed + " --set 'peft.target_modules=[q_proj,foo]'",
       {"--set: key 'peft.target_modules'", "foo"}},
      {"non-JSON config.json",
       kSeed + " --set model=tests/data/models/not-json/config.json",
       {"tests/data/models/not-json/config.json", "line"}},
      {"YAML syntax error",
       "memory --config tests/data/configs/syntax-error.yaml",
       {"tests/data/configs/syntax-error.yaml", "line 5"}},
      {"unknown key in the file",
       "memory --config tests/data/configs/unknown-key.yaml",
       {"tests/data/configs/unknown-key.yaml", "trian", "line 3", "model, peft, train"}},
      {"unreadable config.json",
       kSeed + " --set model=tests/data/models/absent/config.json",
       {"tests/data/models/absent/config.json"}},
  };
  for (const auto& c : cases) {
    INFO(c.what << ": zerosim " << c.args);
    const auto r = run_zerosim(c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    INFO("stderr: " << r.err);
    CHECK(count_lines(r.err) == 1);
    for (const auto& m : c.mentions) CHECK_THAT(r.err, Catch::Contains(m));
  }
}

TEST_CASE("other model types load from tests/data", "[integration][memory]") {
  for (const char* model : {"tests/data/models/qwen-7b.json", "tests/data/models/mpt-7b.json",
                            "tests/data/models/llama-3.2-3b.json"}) {
    INFO(model);
    const auto r = run_zerosim(kSeed + " --set model=" + model +
                               " --set peft.method=lora --set peft.target_modules=all-linear --format json");
    REQUIRE(r.exit_code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    CHECK(j["params"]["trainable"].get<int64_t>() > 0);
  }
}
