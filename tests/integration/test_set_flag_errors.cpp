// A bad value given with --set is blamed on --set, not on the config file it overrides.
#include <catch2/catch.hpp>
#include <string>

#include "run_command.h"

using zerosim::testing::run_zerosim;

namespace {
const std::string kSimulateSeed = "simulate --config workloads/configs/seed-dora-7b.yaml";
}

TEST_CASE("an unknown key given with --set names --set and the key", "[integration][errors][set]") {
  const auto r = run_zerosim(kSimulateSeed + " --set zero.stagee=3");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(
      r.err,
      Catch::StartsWith(
          "zerosim: error: --set: key 'zero.stagee': unknown key (did you mean 'stage'?) (allowed: stage,"));
  CHECK_THAT(r.err, !Catch::Contains("seed-dora-7b.yaml"));
}

TEST_CASE("a bad value given with --set names --set, the key and the allowed values",
          "[integration][errors][set]") {
  const auto r = run_zerosim(kSimulateSeed + " --set zero.stage=7");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("zerosim: error: --set: key 'zero.stage': 7 is not a ZeRO stage"));
  CHECK_THAT(r.err, Catch::Contains("(allowed: 0, 1, 2, 3)"));
  CHECK_THAT(r.err, !Catch::Contains("seed-dora-7b.yaml"));
}

TEST_CASE("a bad value in the file is still blamed on the file when --set changes another key",
          "[integration][errors][set]") {
  const auto r = run_zerosim("simulate --config tests/data/configs/unknown-key.yaml --set zero.stage=2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("zerosim: error: tests/data/configs/unknown-key.yaml: key 'trian'"));
}

TEST_CASE("a key given twice with --set: the error names --set and the value that stands",
          "[integration][errors][set]") {
  const auto r = run_zerosim(kSimulateSeed + " --set zero.stage=3 --set zero.stage=9");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--set: key 'zero.stage': 9 is not a ZeRO stage"));
}
