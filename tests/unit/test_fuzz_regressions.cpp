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
#include "workloads/text_encoding.h"

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

TEST_CASE("UTF-8: well-formed text passes, the first bad byte is found", "[fuzz][encoding]") {
  using zerosim::invalid_utf8_offset;
  CHECK_FALSE(invalid_utf8_offset("plain ascii").has_value());
  CHECK_FALSE(
      invalid_utf8_offset("nvlink \xE2\x80\x94 bridge \xF0\x9F\x98\x80").has_value());  // an em dash, U+1F600
  CHECK(invalid_utf8_offset("nvlink-bridg\xFF\xFF") == 12u);  // 0xFF never occurs in UTF-8
  CHECK(invalid_utf8_offset("a\xC0\xAF") == 1u);              // overlong '/'
  CHECK(invalid_utf8_offset("a\xED\xA0\x80") == 1u);          // a surrogate
  CHECK(invalid_utf8_offset("ab\xE2\x80") == 2u);             // cut short
  CHECK(zerosim::line_at("a\nb\nc", 4) == 3u);
}
