// The drawing rules of sim/report/gnuplot_chart.h that do not need gnuplot: when the x axis is log2,
// and how long titles wrap.
#include <catch2/catch.hpp>

#include "sim/report/gnuplot_chart.h"

using zerosim::LineChart;
using zerosim::LineSeries;

namespace {

LineChart chart_at(std::vector<double> xs) {
  LineSeries s{"s", {}};
  for (double x : xs) s.points.emplace_back(x, 1.0);
  return LineChart{"t", "x", "y", {s}};
}

}  // namespace

TEST_CASE("log2 x axis only for powers of two spanning at least 16x", "[plot]") {
  CHECK(zerosim::log2_x_axis(chart_at({1, 2, 4, 8, 16, 32, 64})));    // 64 / 1 = 64 >= 16
  CHECK(zerosim::log2_x_axis(chart_at({4, 64})));                     // 64 / 4 = 16, the smallest span
  CHECK(zerosim::log2_x_axis(chart_at({0.25, 0.5, 4})));              // 4 / 0.25 = 16; 2^-2 is a power of two
  CHECK_FALSE(zerosim::log2_x_axis(chart_at({8, 16, 32, 64})));       // 64 / 8 = 8 < 16: linear
  CHECK_FALSE(zerosim::log2_x_axis(chart_at({1, 2, 4, 8, 16, 24})));  // 24 = 1.5 x 2^4
  CHECK_FALSE(zerosim::log2_x_axis(chart_at({0, 1, 2, 4, 8})));       // 0 has no place on a log axis
  CHECK_FALSE(zerosim::log2_x_axis(chart_at({})));
}

TEST_CASE("titles wrap at \", \" outside parentheses into lines of at most 80 characters", "[plot]") {
  CHECK(zerosim::wrapped("short, title") == std::vector<std::string>{"short, title"});
  // "aaaa, bbbb," is 10 characters; adding " cccc" would make 15 > 12.
  CHECK(zerosim::wrapped("aaaa, bbbb, cccc", 12) == std::vector<std::string>{"aaaa, bbbb,", "cccc"});
  // A part longer than the width keeps a line of its own.
  CHECK(zerosim::wrapped("a, bbbbbbbbbbbbbbbb, c", 8) ==
        std::vector<std::string>{"a,", "bbbbbbbbbbbbbbbb,", "c"});
  // Never inside parentheses: "(x, y)" is one part.
  CHECK(zerosim::wrapped("aaaa (x, y), b", 10) == std::vector<std::string>{"aaaa (x, y),", "b"});
  const std::string seed_like =
      "llama2-7b, DoRA r=16, 64x h100-80gb-sxm (nvswitch-h100, ib-ndr400), ZeRO-3, "
      "train.activation_checkpointing=false";  // 112 characters; the first 75 fit in a line
  const auto lines = zerosim::wrapped(seed_like);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "llama2-7b, DoRA r=16, 64x h100-80gb-sxm (nvswitch-h100, ib-ndr400), ZeRO-3,");
  CHECK(lines[1] == "train.activation_checkpointing=false");
}
