#pragma once
// Which peft LoraConfig features a release has. A run config that asks for one its `versions.peft` predates
// is refused (exit 2) rather than simulated with a behaviour that release did not have.
#include <string>

#include "workloads/run_config.h"

namespace zerosim {

// Throws ConfigError (versions.peft, the feature, the release that added it) when the run's peft setup uses
// something the stated peft release lacks.
void check_peft_release(const RunConfig& config, const std::string& file);

}  // namespace zerosim
