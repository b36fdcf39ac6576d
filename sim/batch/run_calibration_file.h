#pragma once
// The run config's `calibration:` file (docs/calibration.md, "Using a calibration"): loaded under the
// allow_cpu_device rule, and its host: section applied to the run's host. workloads/ never sees calibrate/,
// so the host override lives here, between loading the run and building its platform.
#include <memory>

#include "calibrate/calibration_table.h"
#include "workloads/run_config.h"

namespace zerosim {

// The run's calibration file, or null when it names none. A file whose ops timed a CPU is refused for a
// GPU target unless `calibration: {file: ..., allow_cpu_device: true}`: CPU kernel times scaled by peak
// ratios are not GPU times. A file without ops (a host section alone) transfers no op times and is
// never refused. ConfigError naming the file and the key.
std::shared_ptr<const calib::CalibrationTable> load_run_calibration(const RunConfig& config);

// A host: section replaces the run's CPU figures, whatever gave them (catalogue, cluster keys or a platform
// file's CPU hosts): cpu_adam_elements_per_s_per_core as measured, and the node's measured bandwidth split
// over the run's host's sockets (HostSpec's figure is per socket). Sockets, cores and RAM stay the run's.
// No host: section: config unchanged.
void apply_calibrated_host(RunConfig& config, const calib::CalibrationTable& table);

}  // namespace zerosim
