// nccl-tests' size syntax and bus-bandwidth factors, as `zerosim collective` reads and prints them.
#include <catch2/catch.hpp>

#include "sim/batch/nccl_tests_conventions.h"
#include "test_support.h"

using namespace zerosim;

TEST_CASE("sizes are read as nccl-tests writes them: powers of 1024 or plain bytes", "[collective]") {
  CHECK(parse_size("1000", "-b") == 1000);
  CHECK(parse_size("1K", "-b") == 1024);
  CHECK(parse_size("64M", "-b") == 67108864);      // 64 x 1024^2
  CHECK(parse_size("8g", "-e") == 8589934592);     // 8 x 1024^3, either case
  CHECK(parse_size("1.5K", "-b") == 1536);         // 1.5 x 1024
  CHECK(parse_size("1T", "-e") == 1099511627776);  // 1024^4
  for (const char* bad : {"", "0", "-1K", "K", "12X", "2000T"})
    CHECK_THROWS_AS(parse_size(bad, "-b"), ConfigError);
}

TEST_CASE("busbw factors are nccl-tests' per collective and rank count", "[collective]") {
  CHECK(bus_factor(CollectiveKind::all_reduce, 8) == Approx(1.75));      // 2 x 7/8
  CHECK(bus_factor(CollectiveKind::all_gather, 8) == Approx(0.875));     // 7/8
  CHECK(bus_factor(CollectiveKind::reduce_scatter, 4) == Approx(0.75));  // 3/4
  CHECK(bus_factor(CollectiveKind::broadcast, 8) == Approx(1.0));
  CHECK(bus_factor(CollectiveKind::all_reduce, 1) == Approx(0.0));  // one rank moves nothing
}
