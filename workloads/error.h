#pragma once
// The one hierarchy of errors a user can fix. Each command boundary (sim/cli/main.cpp,
// calibrate/main.cpp) catches zerosim::Error, prints what() and exits 2; any other exception is a
// bug in zerosim and exits 1. The kinds:
//   ConfigError   (workloads/config_error.h)  bad input: a file, a key, a message
//   RegexError    (workloads/module_regex.h)  a target_modules pattern that cannot be used
//   UsageError    (calibrate/cli_options.h)   a bad zerosim-calibrate command line
//   NoDeviceError (calibrate/backend.h)       no device for the requested calibration backend
#include <stdexcept>

namespace zerosim {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace zerosim
