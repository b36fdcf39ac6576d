// The sweep's output files: rows survive a kill (torn last lines dropped), the CSV columns, and
// the row of a point that failed.
#include <catch2/catch.hpp>
#include <fstream>

#include "sim/batch/sweep_results.h"
#include "test_support.h"
#include "workloads/yaml_read.h"

using namespace zerosim;
using zerosim::testing::TempDir;
using zerosim::testing::test_data;

namespace {

Sweep tiny_sweep() {
  const std::string text =
      "base:\n  model: " + test_data("models/tiny-llama.json") +
      "\n  train: {seq_len: 128}\naxes:\n  zero.stage: [0, 3]\n  zero.offload_param: [none, cpu]\n";
  return sweep_from_yaml(YAML::Load(text), "sweep.yaml");
}

PointOutcome worker_output(const std::string& json) {
  PointOutcome o;
  o.out = json;
  return o;
}

}  // namespace

TEST_CASE("results.csv and results.jsonl are named after --out", "[sweep][results]") {
  CHECK(result_paths("out/r.csv").jsonl == "out/r.jsonl");
  CHECK(result_paths("out/r.jsonl").csv == "out/r.csv");
  CHECK(result_paths("results").jsonl == "results.jsonl");
}

TEST_CASE("a row is the worker's JSON plus axes, point, error and sweep position", "[sweep][results]") {
  const Sweep s = tiny_sweep();
  const PointOutcome ok = worker_output(
      R"({"memory": {"peak_bytes": 123, "fits": true}, "time": {"step_s": 0.5, "exposed_comm_s": 0.25},
          "throughput": {"tokens_per_s": 10.0, "tokens_per_s_per_gpu": 10.0, "mfu": 0.5}})");
  const nlohmann::json row = make_row(s, s.points[0], &ok);
  CHECK(row["error"].is_null());
  CHECK(row["axes"] == nlohmann::json{{"zero.stage", 0}, {"zero.offload_param", "none"}});
  CHECK(row["point"] == hex64(s.points[0].hash));
  CHECK(row["sweep"] == nlohmann::json{{"id", hex64(s.id)},
                                       {"index", 0},
                                       {"points", 4},
                                       {"axes", {"zero.stage", "zero.offload_param"}}});
  CHECK(row["memory"]["peak_bytes"] == 123);
  CHECK(csv_header(s.axis_keys) ==
        "index,point,zero.stage,zero.offload_param,peak_bytes,fits,step_s,tokens_per_s,tokens_per_s_per_gpu,"
        "mfu,"
        "exposed_comm_s,error\n");
  CHECK(csv_line(row, s.axis_keys) ==
        "0," + hex64(s.points[0].hash) + ",0,none,123,true,0.5,10.0,10.0,0.5,0.25,\n");

  // Rejected at validation: no worker ran; the row holds the error, which names the key.
  const nlohmann::json rejected = make_row(s, s.points[1], nullptr);
  CHECK_THAT(rejected["error"].get<std::string>(), Catch::Contains("zero.offload_param"));
  CHECK(rejected["config"].is_null());
  CHECK_THAT(csv_line(rejected, s.axis_keys),
             Catch::StartsWith("1," + hex64(s.points[1].hash) + ",0,cpu,,,,,,,,"));

  // A worker that failed: its stderr becomes the error.
  PointOutcome crashed;
  crashed.exit_code = 1;
  crashed.err = "zerosim: internal error: boom\n";
  const nlohmann::json failed = make_row(s, s.points[2], &crashed);
  CHECK(failed["error"] == "zerosim: internal error: boom");
  CHECK(failed["config"] == s.points[2].config);
  PointOutcome garbage = worker_output("not json");
  CHECK_THAT(make_row(s, s.points[3], &garbage)["error"].get<std::string>(), Catch::Contains("not JSON"));
}

TEST_CASE("CSV cells with commas, quotes or lists are quoted", "[sweep][results]") {
  nlohmann::json row = {{"sweep", {{"index", 7}}},
                        {"point", "00ff"},
                        {"axes", {{"peft.target_modules", {"q_proj", "v_proj"}}}},
                        {"error", "a \"bad\", value"}};
  CHECK(csv_line(row, {"peft.target_modules"}) ==
        R"(7,00ff,"[""q_proj"",""v_proj""]",,,,,,,,"a ""bad"", value")"
        "\n");
}

TEST_CASE("rows are appended whole; a torn last line and unreadable lines are dropped", "[sweep][results]") {
  const TempDir dir;
  const std::string path = dir.path("r.jsonl");
  {
    RowAppender out(path, true);
    out.append(R"({"sweep":{"index":0},"x":1})"
               "\n");
    out.append(R"({"sweep":{"index":1},"x":2})"
               "\n");
  }
  CHECK(read_rows(path).rows.size() == 2);
  {
    RowAppender out(path, false);
    out.append("garbage\n");
    out.append(R"({"no_sweep":1})"
               "\n");
    out.append(R"({"sweep":{"index":2},"x":)");  // killed in the middle of this row
  }
  const StoredRows r = read_rows(path);
  REQUIRE(r.rows.size() == 2);
  CHECK(r.dropped == 3);
  CHECK(r.rows[1].line == R"({"sweep":{"index":1},"x":2})");
  CHECK(read_rows(dir.path("missing.jsonl")).rows.empty());
}

TEST_CASE("sorted rewrites order rows by index and regenerate the CSV", "[sweep][results]") {
  const TempDir dir;
  const ResultPaths paths = result_paths(dir.path("r.csv"));
  const std::map<size_t, std::string> lines = {
      {2, R"({"axes":{"a":3},"point":"c","sweep":{"index":2},"error":null})"},
      {0, R"({"axes":{"a":1},"point":"a","sweep":{"index":0},"error":"x"})"}};
  write_sorted_results(paths, lines, {"a"});
  CHECK(zerosim::read_text_file(paths.jsonl) == lines.at(0) + "\n" + lines.at(2) + "\n");
  CHECK(zerosim::read_text_file(paths.csv) ==
        "index,point,a,peak_bytes,fits,step_s,tokens_per_s,tokens_per_s_per_gpu,mfu,exposed_comm_s,error\n"
        "0,a,1,,,,,,,,x\n2,c,3,,,,,,,,\n");
}
