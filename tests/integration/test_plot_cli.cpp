// zerosim plot: real gnuplot charts from a real sweep of the tiny model.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "run_command.h"

using zerosim::testing::read_file;
using zerosim::testing::run_command;
using zerosim::testing::run_zerosim;

namespace {

// One sweep shared by the tests of this file (tests/data/sweeps/tiny-grid.yaml: 10 points).
const std::string& results() {
  static const std::string jsonl = [] {
    // Per process: CTest runs these test cases in parallel processes.
    const std::string dir = "/tmp/zerosim-test-plot-" + std::to_string(getpid());
    run_command("rm -rf " + dir);
    const auto r =
        run_zerosim("sweep --config tests/data/sweeps/tiny-grid.yaml -j 2 --out " + dir + "/results.csv");
    REQUIRE(r.exit_code == 0);
    return dir + "/results.jsonl";
  }();
  return jsonl;
}

std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

}  // namespace

TEST_CASE("plot draws a scaling chart as SVG with labelled axes, legend and title", "[plot]") {
  const std::string out = dir_of(results()) + "/scaling.svg";
  const auto r =
      run_zerosim("plot " + results() + " --x cluster.gpus --y tokens_per_s --series zero.stage -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(out);
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("GPUs") != std::string::npos);                              // x label
  CHECK(svg.find("throughput (tokens/s, whole job)") != std::string::npos);  // y label with unit
  CHECK(svg.find("zero.stage = 3") != std::string::npos);                    // legend
  CHECK(svg.find("tiny-llama.json") != std::string::npos);                   // title names the model
}

TEST_CASE("plot draws stacked memory and time breakdowns, PNG too", "[plot]") {
  const std::string mem = dir_of(results()) + "/memory.svg";
  auto r = run_zerosim("plot " + results() +
                       " --kind memory --x zero.stage --where cluster.gpus=2 --where peft.r=8 -o " + mem);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(mem);
  CHECK(svg.find("per-GPU memory (GiB)") != std::string::npos);
  CHECK(svg.find("frozen_params") != std::string::npos);
  CHECK(svg.find("zero.stage=3") != std::string::npos);
  const std::string png = dir_of(results()) + "/time.png";
  r = run_zerosim("plot " + results() +
                  " --kind time --x zero.stage --where cluster.gpus=2 --where peft.r=16 -o " + png);
  REQUIRE(r.exit_code == 0);
  const std::string bytes = read_file(png);
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(1, 3) == "PNG");
}

TEST_CASE("plot: bad input is exit 2 naming the key", "[plot][errors]") {
  auto r = run_zerosim("plot " + results() + " --x cluster.gpus --y no_such_metric -o " + dir_of(results()) +
                       "/x.svg");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("no_such_metric"));
  r = run_zerosim("plot " + results() + " --x cluster.gpus --y step_s -o " + dir_of(results()) + "/x.gif");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(".svg or .png"));
  r = run_zerosim("plot " + results() + " --kind memory --x zero.stage -o " + dir_of(results()) + "/x.svg");
  CHECK(r.exit_code == 2);  // several rows per stage: ambiguous without --where
  CHECK_THAT(r.err, Catch::Contains("--where"));
}
