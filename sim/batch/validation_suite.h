#pragma once
// `zerosim validate`: runs every validation case file of a directory (published measurements) against
// the tolerances and known misses, and prints sim/batch/validation_report.h's report. Predictions that
// miss are a result; only errors in the files themselves (cases that cannot run) are errors.
#include <string>

namespace zerosim {

struct ValidateOptions {
  std::string dir;           // "": tests/validation
  std::string known_misses;  // "": DIR/known-misses.yaml, else tests/validation/known-misses.yaml
  std::string format = "table";
};

// Prints the report to stdout; then throws the first case error (every one is on stderr), if any.
void run_validate(const ValidateOptions& options);

}  // namespace zerosim
