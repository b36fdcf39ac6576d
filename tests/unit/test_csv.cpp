#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sim/batch/worker_error.h"
#include "sim/report/csv.h"
#include "sim/report/output_format.h"

using namespace zerosim;

TEST_CASE("a CSV cell is quoted, quotes doubled, only when it holds a comma, a quote or a line break",
          "[csv]") {
  CHECK(csv_cell("plain") == "plain");
  CHECK(csv_cell("a,b") == "\"a,b\"");
  CHECK(csv_cell("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_cell("two\nlines") == "\"two\nlines\"");
  CHECK(csv_cell("cr\r") == "\"cr\r\"");
  CHECK(csv_row({"x", "", "a,b"}) == "x,,\"a,b\"\n");
}

TEST_CASE("csv_from_json quotes a list whose items hold a comma", "[csv]") {
  const nlohmann::json j = {{"peft", {{"target_modules", {"q_proj", "a,b"}}}}};
  CHECK(csv_from_json(j) == "peft.target_modules\n\"q_proj;a,b\"\n");
}

TEST_CASE("a child's error comes back with its file, key and message", "[worker_error]") {
  const ConfigError sent("run.yaml", "zero.stage", "7 is not a ZeRO stage");
  const auto got = read_worker_error("warning: something first\n" + worker_error_json(sent));
  REQUIRE(got);
  CHECK(got->file() == "run.yaml");
  CHECK(got->key() == "zero.stage");
  CHECK(got->message() == "7 is not a ZeRO stage");
  CHECK_FALSE(read_worker_error("zerosim: error: run.yaml: key 'x': bad\n"));
  CHECK_FALSE(read_worker_error(""));
}
