#pragma once
// `zerosim collective ... --format json` from integration tests, and the figures of one message size.
#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.h"

namespace zerosim::testing {

// The JSON of `zerosim collective <args>`; the test fails (with stderr) unless it exits 0.
inline nlohmann::json collective(const std::string& args) {
  const auto r = run_zerosim("collective " + args + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// `field` of the row for `size` bytes (time_s, busbw_gbps, ...); fails the test when there is none.
inline double result_at(const nlohmann::json& j, int64_t size, const std::string& field) {
  for (const auto& row : j["results"])
    if (row["size_bytes"].get<int64_t>() == size) return row[field].get<double>();
  FAIL("size " << size << " not in results");
  return 0;
}
inline double seconds_at(const nlohmann::json& j, int64_t size) { return result_at(j, size, "time_s"); }
inline double busbw_at(const nlohmann::json& j, int64_t size) { return result_at(j, size, "busbw_gbps"); }

}  // namespace zerosim::testing
