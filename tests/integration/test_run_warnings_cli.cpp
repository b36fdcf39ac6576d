// Warnings (issue 13, item 5): a GPU count that leaves the last node partly empty runs, but says so on
// stderr and in the JSON's `warnings`; a sweep's point with a warning is still a result, not an error.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;

namespace {

const std::string kTiny = "--config tests/data/tiny-llama-dora.yaml --format json";
const std::string kPartial = "cluster.gpus = 12 is not a multiple of cluster.gpus_per_node = 8";

nlohmann::json run_json(const std::string& command, const std::string& sets, std::string* err = nullptr) {
  const auto r = run_zerosim(command + " " + kTiny + " " + sets);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  if (err) *err = r.err;
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("12 GPUs at 8 per node run as 8+4 with a warning on stderr and in the JSON", "[warnings]") {
  for (const char* command : {"memory", "simulate"}) {
    INFO(command);
    std::string err;
    const auto j = run_json(command, "--set cluster.gpus=12", &err);
    CHECK_THAT(err, Catch::Contains("zerosim: warning: " + kPartial));
    CHECK_THAT(err, Catch::Contains("1 full node(s) of 8 and one of 4 GPUs"));
    REQUIRE(j["warnings"].size() == 1);
    CHECK_THAT(j["warnings"][0].get<std::string>(), Catch::StartsWith(kPartial));
  }
}

TEST_CASE("whole nodes, and one partly used node, give no warning", "[warnings]") {
  // 16 = 2 x 8; 4 GPUs of one 8-GPU node; 6 GPUs at 3 per node = 2 x 3.
  for (const char* sets : {"--set cluster.gpus=16", "--set cluster.gpus=4",
                           "--set cluster.gpus=6 --set cluster.gpus_per_node=3"}) {
    INFO(sets);
    std::string err;
    const auto j = run_json("simulate", sets, &err);
    CHECK(j["warnings"] == nlohmann::json::array());
    CHECK(err.find("warning") == std::string::npos);
  }
}

TEST_CASE("a sweep point with a warning is a result, and its row carries the warning", "[warnings][sweep]") {
  const TempDir dir;
  const std::string sweep =
      dir.write("sweep.yaml", "base: " + zerosim::testing::source_path("tests/data/tiny-llama-dora.yaml") +
                                  "\naxes:\n  cluster.gpus: [8, 12]\n");
  const auto r = run_zerosim("sweep --config " + sweep + " --out " + dir.path("r.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::stringstream rows(zerosim::testing::read_file(dir.path("r.jsonl")));
  std::vector<nlohmann::json> got;
  for (std::string line; std::getline(rows, line);) got.push_back(nlohmann::json::parse(line));
  REQUIRE(got.size() == 2);
  CHECK(got[0]["error"].is_null());
  CHECK(got[0]["warnings"] == nlohmann::json::array());
  CHECK(got[1]["error"].is_null());
  REQUIRE(got[1]["warnings"].size() == 1);
  CHECK_THAT(got[1]["warnings"][0].get<std::string>(), Catch::StartsWith(kPartial));
}
