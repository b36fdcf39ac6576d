// zerosim plot: real gnuplot charts from a real sweep of the tiny model.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "run_command.h"

using zerosim::testing::read_file;
using zerosim::testing::run_command;
using zerosim::testing::run_zerosim;

namespace {

// The results.jsonl of a sweep in tests/data/sweeps/, run once per process (CTest runs these test cases
// in parallel processes).
std::string sweep_results(const std::string& name) {
  const std::string dir = "/tmp/zerosim-test-plot-" + std::to_string(getpid()) + "/" + name;
  run_command("rm -rf " + dir);
  const auto r =
      run_zerosim("sweep --config tests/data/sweeps/" + name + ".yaml -j 2 --out " + dir + "/results.csv");
  REQUIRE(r.exit_code == 0);
  return dir + "/results.jsonl";
}

// tiny-grid.yaml: zero.stage 0,2,3 x cluster.gpus 1,2 x peft.r 8,16, minus stage 2 on 1 GPU: 10 points.
const std::string& results() {
  static const std::string jsonl = sweep_results("tiny-grid");
  return jsonl;
}

std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

}  // namespace

TEST_CASE("plot draws a scaling chart as SVG with labelled axes, legend and title", "[plot]") {
  const std::string out = dir_of(results()) + "/scaling.svg";
  const auto r =
      run_zerosim("plot " + results() +
                  " --x cluster.gpus --y tokens_per_s --series zero.stage --where peft.r=8 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(out);
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find(">GPUs<") != std::string::npos);                     // x label; 1 and 2 GPUs: linear
  CHECK(svg.find("throughput (tokens/s)") != std::string::npos);      // y label in words with its unit
  CHECK(svg.find("zero.stage = 3") != std::string::npos);             // legend
  CHECK(svg.find("tiny-llama.json, DoRA r=8") != std::string::npos);  // title: model and the fixed rank
}

TEST_CASE("plot refuses a line chart whose points mix rows that differ in another key", "[plot][errors]") {
  // zero.stage x cluster.gpus leaves peft.r 8 and 16 on every point.
  const auto r =
      run_zerosim("plot " + results() + " --x cluster.gpus --y tokens_per_s --series zero.stage -o " +
                  dir_of(results()) + "/mixed.svg");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("key 'peft.r'"));
  CHECK_THAT(r.err, Catch::Contains("they differ in peft.r (peft.r: 8, 16)"));
  CHECK_THAT(r.err, Catch::Contains("--where peft.r=8"));
  CHECK_THAT(r.err, Catch::Contains("--series peft.r"));
}

TEST_CASE("plot titles name only what every plotted row shares", "[plot]") {
  // One line per rank at ZeRO-3: the rank is in the legend, not in the title.
  const std::string out = dir_of(results()) + "/ranks.svg";
  const auto r =
      run_zerosim("plot " + results() +
                  " --x cluster.gpus --y peak_bytes --series peft.r --where zero.stage=3 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(out);
  // Wrapped at 80 characters: gnuplot writes each line of the title as its own <text>.
  CHECK(svg.find("tiny-llama.json, DoRA, a100-80gb-sxm (nvswitch, ib-hdr200),</text>") != std::string::npos);
  CHECK(svg.find("<text>ZeRO-3</text>") != std::string::npos);
  CHECK(svg.find("r=8") == std::string::npos);
  CHECK(svg.find("peft.r = 16") != std::string::npos);                // legend
  CHECK(svg.find("peak memory per GPU (GiB)") != std::string::npos);  // y label in words
}

TEST_CASE("plot draws every line with its own marker and dash pattern", "[plot]") {
  // Stages 0 and 2 on 2 GPUs draw nearly the same throughput: without distinct markers and dashes the
  // later line hides the earlier one.
  const std::string out = dir_of(results()) + "/stages.svg";
  const auto r = run_zerosim("plot " + results() +
                             " --x peft.r --y step_s --series zero.stage --where cluster.gpus=2 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(out);
  CHECK(svg.find("step time (ms)") != std::string::npos);
  CHECK(svg.find("log") == std::string::npos);  // ranks 8 and 16 span 2x: linear
  // gnuplot's SVG point symbols are <use xlink:href='#gpPtN'>: pt 7, 4 and 9 are gpPt6, gpPt3, gpPt8.
  for (const char* symbol : {"#gpPt6'", "#gpPt3'", "#gpPt8'"}) CHECK(svg.find(symbol) != std::string::npos);
  CHECK(svg.find("stroke-dasharray") != std::string::npos);  // dt 2 and 3
}

TEST_CASE("plot uses a log2 x axis for GPU counts 1 to 16, linear for stages", "[plot]") {
  const std::string jsonl = sweep_results("tiny-gpu-scaling");
  const std::string out = dir_of(jsonl) + "/scaling.svg";
  auto r = run_zerosim("plot " + jsonl + " --x cluster.gpus --y tokens_per_s_per_gpu -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string svg = read_file(out);
  CHECK(svg.find("GPUs (log₂ scale)") != std::string::npos);
  CHECK(svg.find("throughput per GPU (tokens/s)") != std::string::npos);
  // The title wraps at 80 characters, never inside parentheses; gnuplot writes each line as a <text>.
  CHECK(svg.find("tiny-llama.json, DoRA r=8,</text>") != std::string::npos);
  CHECK(svg.find("<text>a100-80gb-sxm (nvswitch, ib-hdr200), ZeRO-3</text>") != std::string::npos);
  const std::string stages = dir_of(results()) + "/stages-mfu.svg";
  r = run_zerosim("plot " + results() + " --x zero.stage --y mfu --where cluster.gpus=2 --series peft.r -o " +
                  stages);
  REQUIRE(r.exit_code == 0);
  svg = read_file(stages);
  CHECK(svg.find("log") == std::string::npos);
  CHECK(svg.find(">ZeRO stage<") != std::string::npos);
  CHECK(svg.find("model FLOPs utilisation (%)") != std::string::npos);
}

TEST_CASE("plot draws stacked memory and time breakdowns, PNG too", "[plot]") {
  const std::string mem = dir_of(results()) + "/memory.svg";
  auto r = run_zerosim("plot " + results() +
                       " --kind memory --x zero.stage --where cluster.gpus=2 --where peft.r=8 -o " + mem);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = read_file(mem);
  CHECK(svg.find("memory per GPU at the peak (GiB)") != std::string::npos);
  CHECK(svg.find("frozen parameters") != std::string::npos);
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
  CHECK_THAT(r.err, Catch::Contains("they differ in cluster.gpus, peft.r"));
  CHECK_THAT(r.err, Catch::Contains("--where cluster.gpus="));
}
