#pragma once
// `zerosim <args>` through the binary, required to succeed (exit 0, stderr shown otherwise): its JSON output.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "run_command.h"

namespace zerosim::testing {

inline nlohmann::json zerosim_json(const std::string& args) {
  const auto r = run_zerosim(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// `zerosim simulate <args> --format json`, required to succeed: its JSON output.
inline nlohmann::json simulate_json(const std::string& args) {
  return zerosim_json("simulate " + args + " --format json");
}

// `zerosim <args> --trace PATH --format json`, required to succeed: its JSON output and the Chrome trace it
// wrote (the file is removed once read).
inline std::pair<nlohmann::json, nlohmann::json> zerosim_json_and_trace(const std::string& args,
                                                                        const std::string& path) {
  auto out = zerosim_json(args + " --trace " + path + " --format json");
  std::ifstream in(path);
  auto trace = nlohmann::json::parse(in);
  std::remove(path.c_str());
  return {std::move(out), std::move(trace)};
}

}  // namespace zerosim::testing
