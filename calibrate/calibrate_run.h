#pragma once
// One calibration run: time every point of the sweep on a backend, measure the peaks, and
// gather the results into a CalibrationTable. Backend-independent.
#include <ostream>

#include "calibrate/backend.h"
#include "calibrate/calibration_table.h"
#include "calibrate/cli_options.h"
#include "workloads/model_spec.h"

namespace zerosim::calib {

// Progress (one line per shape group) goes to `progress`. With options.host the table gets the host
// section too (cpu/host_benchmark.h).
CalibrationTable run_calibration(Backend& backend, const ModelSpec& model, const CliOptions& options,
                                 std::ostream& progress);

// --host-only: a table with the host section alone, its device the CPU (no op times, no peaks).
CalibrationTable run_host_calibration(const CliOptions& options, std::ostream& progress);

}  // namespace zerosim::calib
