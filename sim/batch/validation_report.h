#pragma once
// What `zerosim validate` prints: predicted against measured per figure with the signed error and the
// status against the family's tolerance, each known miss's reason once, the cases that could not run,
// and the mean absolute percentage error per family. A table for people, JSON for scripts.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/batch/validation_run.h"

namespace zerosim {

// Where the report came from: the case directory and the expectations file ("" when none).
struct ValidationSources {
  std::string dir;
  std::string expectations;
};

std::string validation_table(const ValidationReport& report, const std::vector<CaseFile>& files,
                             const ValidationSources& sources);
nlohmann::json validation_json(const ValidationReport& report, const std::vector<CaseFile>& files,
                               const ValidationSources& sources);

}  // namespace zerosim
