// SWEEP.yaml expansion: cartesian order, exclusions, point identity (hash), shards, and every bad
// sweep file of issue 5 as a ConfigError naming the key.
#include <catch2/catch.hpp>
#include <set>

#include "sim/batch/sweep_spec.h"
#include "test_support.h"
#include "workloads/yaml_read.h"

using namespace zerosim;
using zerosim::testing::config_error_message;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

namespace {

// A sweep over the tiny model (2 layers, hidden 256): points resolve in microseconds.
Sweep sweep_of(const std::string& axes_and_rest) {
  const std::string text = "base:\n  model: " + test_data("models/tiny-llama.json") +
                           "\n  peft: {method: dora, r: 8, alpha: 16}\n  train: {seq_len: 128}\n" +
                           axes_and_rest;
  return sweep_from_yaml(YAML::Load(text), "sweep.yaml");
}

std::string sweep_error(const std::string& axes_and_rest) {
  return config_error_message([&] { sweep_of(axes_and_rest); });
}

}  // namespace

TEST_CASE("the cartesian product runs in SWEEP.yaml order, last axis fastest", "[sweep]") {
  const Sweep s = sweep_of("axes:\n  zero.stage: [0, 3]\n  cluster.gpus: [1, 2, 4]\n  peft.r: [8, 16]\n");
  REQUIRE(s.points.size() == 12);
  CHECK(s.axis_keys == std::vector<std::string>{"zero.stage", "cluster.gpus", "peft.r"});
  size_t i = 0;
  for (int stage : {0, 3})
    for (int gpus : {1, 2, 4})
      for (int r : {8, 16}) {
        const SweepPoint& p = s.points[i];
        CHECK(p.index == i);
        CHECK(p.axes == nlohmann::json{{"zero.stage", stage}, {"cluster.gpus", gpus}, {"peft.r", r}});
        // The axis values reach the resolved config.
        CHECK(p.config["zero"]["stage"] == stage);
        CHECK(p.config["cluster"]["gpus"] == gpus);
        CHECK(p.config["peft"]["r"] == r);
        CHECK(p.error.empty());
        ++i;
      }
}

TEST_CASE("exclude rules drop the points matching every key of one rule", "[sweep]") {
  const Sweep s = sweep_of(
      "axes:\n  zero.stage: [0, 1, 3]\n  cluster.gpus: [1, 2, 4]\n"
      "exclude:\n  - {zero.stage: 1, cluster.gpus: [1, 4]}\n  - {cluster.gpus: 2, zero.stage: 3}\n");
  CHECK(s.excluded == 3);
  REQUIRE(s.points.size() == 6);
  std::set<std::pair<int, int>> kept;
  for (const SweepPoint& p : s.points)
    kept.emplace(p.axes["zero.stage"].get<int>(), p.axes["cluster.gpus"].get<int>());
  CHECK(kept == std::set<std::pair<int, int>>{{0, 1}, {0, 2}, {0, 4}, {1, 2}, {3, 1}, {3, 4}});
  // Indices count the points that run, in cartesian order.
  for (size_t i = 0; i < s.points.size(); ++i) CHECK(s.points[i].index == i);
  CHECK(s.points[3].axes == nlohmann::json{{"zero.stage", 1}, {"cluster.gpus", 2}});
}

TEST_CASE("a point's identity is the FNV-1a hash of its resolved config", "[sweep]") {
  // FNV-1a 64 reference values (Fowler/Noll/Vo test vectors).
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(hex64(0xaf63dc4c8601ec8cull) == "af63dc4c8601ec8c");

  const Sweep a = sweep_of("axes:\n  zero.stage: [0, 3]\n  peft.r: [8, 16]\n");
  const Sweep b = sweep_of("axes:\n  peft.r: [16, 8]\n  zero.stage: [3, 0]\n");
  std::set<uint64_t> hashes;
  for (const SweepPoint& p : a.points) {
    CHECK(p.hash == fnv1a64(p.config.dump()));
    hashes.insert(p.hash);
  }
  CHECK(hashes.size() == 4);
  // The same config reached through another axis order has the same hash; the sweep id differs.
  for (const SweepPoint& p : b.points) CHECK(hashes.count(p.hash) == 1);
  CHECK(a.id != b.id);
  CHECK(a.id == sweep_of("axes:\n  zero.stage: [0, 3]\n  peft.r: [8, 16]\n").id);
}

TEST_CASE("a combination the config rejects becomes that point's error, not the sweep's", "[sweep]") {
  const Sweep s = sweep_of("axes:\n  zero.stage: [0, 3]\n  zero.offload_param: [none, cpu]\n");
  REQUIRE(s.points.size() == 4);
  CHECK(s.points[1].axes == nlohmann::json{{"zero.stage", 0}, {"zero.offload_param", "cpu"}});
  CHECK_THAT(s.points[1].error, Catch::Contains("zero.offload_param") && Catch::Contains("stage 3"));
  CHECK(s.points[1].config.is_null());
  for (size_t i : {0, 2, 3}) CHECK(s.points[i].error.empty());
}

TEST_CASE("shards K/N (1-based) partition the points: each index in exactly one shard", "[sweep][shard]") {
  for (size_t n = 1; n <= 7; ++n) {
    for (size_t index = 0; index < 50; ++index) {
      size_t owners = 0;
      for (size_t k = 1; k <= n; ++k)
        owners += parse_shard(std::to_string(k) + "/" + std::to_string(n)).contains(index);
      CHECK(owners == 1);
    }
  }
  CHECK(parse_shard("1/3").contains(0));
  CHECK(parse_shard("3/3").contains(5));
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3", ""})
    CHECK_THAT(config_error_message([&] { parse_shard(bad); }), Catch::Contains("--shard"));
}

TEST_CASE("a bad SWEEP.yaml is a ConfigError naming the key", "[sweep][errors]") {
  CHECK_THAT(sweep_error("axes:\n  zero.stagee: [0, 3]\n"),
             Catch::Contains("axes.zero.stagee") && Catch::Contains("unknown key"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0, 3]\n  peft.r: []\n"),
             Catch::Contains("axes.peft.r") && Catch::Contains("empty"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: 3\n"),
             Catch::Contains("axes.zero.stage") && Catch::Contains("list"));
  CHECK_THAT(sweep_error("axes:\n  cluster.gpus: [1, two]\n"),
             Catch::Contains("axes.cluster.gpus") && Catch::Contains("\"two\""));
  CHECK_THAT(sweep_error("axes: [zero.stage]\n"), Catch::Contains("'axes'"));
  CHECK_THAT(sweep_error("axis:\n  zero.stage: [0]\n"),
             Catch::Contains("'axis'") && Catch::Contains("unknown key"));
  CHECK_THAT(sweep_error(""), Catch::Contains("'axes'") && Catch::Contains("missing"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0, 0]\n"),
             Catch::Contains("axes.zero.stage") && Catch::Contains("twice"));
  CHECK_THAT(sweep_error("axes:\n  peft: [{r: 8}]\n  peft.r: [8]\n"),
             Catch::Contains("axes.peft.r") && Catch::Contains("overlaps"));
  CHECK_THAT(sweep_error("axes:\n  model.hidden: [1]\n"), Catch::Contains("axes.model.hidden"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0]\nexclude:\n  - {cluster.gpus: 1}\n"),
             Catch::Contains("exclude[0].cluster.gpus") && Catch::Contains("not an axis"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0]\nexclude: {zero.stage: 0}\n"),
             Catch::Contains("'exclude'"));
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0, 3]\nexclude:\n  - {zero.stage: [0, 3]}\n"),
             Catch::Contains("exclude") && Catch::Contains("every point"));
  // An unknown key is found even when other points of the sweep fail first on another section's key.
  CHECK_THAT(
      sweep_error("axes:\n  cluster.inter: [none, ib-hdr200]\n  cluster.gpus: [1, 16]\n  zero.stagee: [0]\n"),
      Catch::Contains("axes.zero.stagee") && Catch::Contains("not a run-config key"));
  // A value that is wrong whatever it is combined with is the file's mistake (exit 2), not a row.
  CHECK_THAT(sweep_error("axes:\n  zero.stage: [0, 3]\n  cluster.gpus: [1, 0]\n"),
             Catch::Contains("axes.cluster.gpus"));
}

TEST_CASE("the base is inline or a path relative to the sweep file, and its paths keep resolving",
          "[sweep]") {
  const TempDir dir;
  dir.write("configs/run.yaml",
            "model: ../models/tiny.json\npeft: {method: lora, r: 4}\ntrain: {seq_len: 64}\n");
  dir.write("models/tiny.json", zerosim::read_text_file(test_data("models/tiny-llama.json")));
  const std::string sweep =
      dir.write("sweeps/s.yaml", "base: ../configs/run.yaml\naxes:\n  peft.r: [4, 8]\n");
  const Sweep s = load_sweep(sweep);
  REQUIRE(s.points.size() == 2);
  CHECK(s.points[0].error.empty());
  // The worker reads the point from a scratch file elsewhere: the model path is anchored to the base's
  // folder.
  const YAML::Node point = YAML::Load(s.points[0].config_yaml);
  CHECK(point["model"].as<std::string>() == dir.path("models/tiny.json"));
  CHECK(point["peft"]["r"].as<int>() == 4);
  CHECK(point["peft"]["method"].as<std::string>() == "lora");
  // A missing base file names itself.
  const std::string missing = dir.write("sweeps/m.yaml", "base: nowhere.yaml\naxes:\n  peft.r: [4]\n");
  CHECK_THAT(config_error_message([&] { load_sweep(missing); }), Catch::Contains("nowhere.yaml"));
}

TEST_CASE("YAML values become JSON with their YAML types", "[sweep]") {
  const YAML::Node n = YAML::Load("[3, 2.5, true, null, all-linear, '16', [q_proj, v_proj], {a: 1}]");
  CHECK(yaml_to_json(n) ==
        nlohmann::json::parse(R"([3, 2.5, true, null, "all-linear", "16", ["q_proj", "v_proj"], {"a": 1}])"));
  CHECK(yaml_to_json(n)[0].is_number_integer());
}
