#pragma once
// One calibration run: time every point of the sweep on a backend, measure the peaks, and
// gather the results into a CalibrationTable. Backend-independent.
#include <ostream>

#include "calibrate/backend.h"
#include "calibrate/calibration_table.h"
#include "calibrate/cli_options.h"
#include "workloads/model_spec.h"

namespace zerosim::calib {

// Progress (one line per shape group) goes to `progress`.
CalibrationTable run_calibration(Backend& backend, const ModelSpec& model, const CliOptions& options,
                                 std::ostream& progress);

}  // namespace zerosim::calib
