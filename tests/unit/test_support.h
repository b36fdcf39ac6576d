#pragma once
// Small helpers shared by the unit tests: temporary files and ConfigError messages.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "workloads/config_error.h"

namespace zerosim::testing {

// A directory under /tmp removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/zerosim-unit-XXXXXX";
    const char* made = mkdtemp(tmpl);
    path_ = made ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    if (path_ != "/tmp") std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path(name);
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::string path_;
};

// Files checked into tests/data/ (tests never read outside the source tree).
inline std::string test_data(const std::string& relative) {
  return std::string(ZEROSIM_SOURCE_DIR) + "/tests/data/" + relative;
}

// Runs `f`, expects a zerosim::ConfigError and returns its message ("" and a failure otherwise).
inline std::string config_error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const zerosim::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected zerosim::ConfigError, got another exception: " << e.what());
  }
  FAIL("expected zerosim::ConfigError, nothing was thrown");
  return "";
}

}  // namespace zerosim::testing
