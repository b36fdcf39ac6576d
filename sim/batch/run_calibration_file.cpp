#include "sim/batch/run_calibration_file.h"

#include "workloads/config_error.h"

namespace zerosim {

std::shared_ptr<const calib::CalibrationTable> load_run_calibration(const RunConfig& c) {
  if (c.calibration.empty()) return nullptr;
  auto table = std::make_shared<const calib::CalibrationTable>(calib::load_calibration(c.calibration));
  if (table->device.kind == "cpu" && table->has_ops() && !c.calibration_allow_cpu_device)
    throw ConfigError(c.calibration, "device.kind",
                      "'cpu': the file timed a CPU (" + table->device.name + "), the run simulates " +
                          c.gpu.id +
                          " GPUs; CPU times scaled to a GPU are not GPU times. Calibrate on the GPU "
                          "(zerosim-calibrate --backend cuda), accept the transfer in " +
                          c.file + " with calibration: {file: " + c.calibration +
                          ", allow_cpu_device: true}, or, for the host's CPU figures alone, use a file from "
                          "zerosim-calibrate --host-only");
  return table;
}

void apply_calibrated_host(RunConfig& config, const calib::CalibrationTable& table) {
  if (!table.host) return;
  HostSpec& h = config.host;
  h.cpu_adam_elements_per_s_per_core = table.host->cpu_adam_elements_per_s_per_core;
  h.mem_bw_bytes_s = table.host->mem_bw_bytes_s / static_cast<double>(h.sockets);
  h.rates_source = "calibration";
}

}  // namespace zerosim
