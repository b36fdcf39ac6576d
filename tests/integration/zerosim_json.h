#pragma once
// `zerosim <args>` through the binary, required to succeed (exit 0, stderr shown otherwise): its JSON output.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.h"

namespace zerosim::testing {

inline nlohmann::json zerosim_json(const std::string& args) {
  const auto r = run_zerosim(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace zerosim::testing
