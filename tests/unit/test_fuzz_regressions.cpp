// Replays tests/fuzz/corpus/<harness>/ through the same functions the fuzz harnesses call
// (tests/fuzz/fuzz_targets.cpp), in the ordinary and the sanitizer builds. Every seed must load or
// fail with ConfigError; every `regression-*` file is an input the fuzzer once crashed on (the commit
// that added it says how) and must now be a ConfigError — a message for the user, not a crash.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fs = std::filesystem;

TEST_CASE("every fuzz corpus file loads or is a ConfigError, every crash found is now a ConfigError",
          "[fuzz]") {
  const fs::path corpus = fs::path(ZEROSIM_SOURCE_DIR) / "tests/fuzz/corpus";
  size_t files = 0, regressions = 0;
  for (const auto& [name, run] : zerosim::fuzz::targets()) {
    REQUIRE(fs::is_directory(corpus / name));
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(corpus / name)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      INFO(p.string());
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const bool regression = p.filename().string().starts_with("regression-");
      bool config_error = false;
      try {
        run(ss.str());
      } catch (const zerosim::ConfigError& e) {
        config_error = true;
      }
      if (regression) CHECK(config_error);
      ++files;
      regressions += regression ? 1 : 0;
    }
  }
  CHECK(files >= 40);
  INFO(regressions << " regression inputs");
}
