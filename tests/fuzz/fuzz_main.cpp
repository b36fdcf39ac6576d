// The libFuzzer entry point of every harness: ZEROSIM_FUZZ_TARGET (set per executable by CMake)
// names the function of fuzz_targets.cpp. Contract: an input may only return or throw
// zerosim::ConfigError (exit 2 for a user). Any other exception escapes and terminates, which
// libFuzzer reports like an abort or a sanitizer report: a finding.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fuzz_targets.h"
#include "sim/batch/sweep_spec.h"
#include "workloads/config_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  bool accepted = true;
  try {
    zerosim::fuzz::ZEROSIM_FUZZ_TARGET(input);
  } catch (const zerosim::ConfigError&) {
    accepted = false;
  }
  // ZEROSIM_FUZZ_ACCEPTED_DIR: keep the inputs the loader accepts. scripts/fuzz.sh uses it for the
  // platform harness, whose accepted files must also load in SimGrid (zerosim platform --check).
  static const char* keep = std::getenv("ZEROSIM_FUZZ_ACCEPTED_DIR");
  if (accepted && keep && *keep)
    std::ofstream(std::string(keep) + "/" + zerosim::hex64(zerosim::fnv1a64(input)) + ".xml",
                  std::ios::binary)
        << input;
  return 0;
}
