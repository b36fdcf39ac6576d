#pragma once
// Warnings about a point that runs but may not be what the user meant: one line each on stderr
// ("zerosim: warning: ...") and the same text in the JSON's `warnings` array (docs/architecture.md).
// A sweep's or a recommendation's worker prints them too; its stderr is read only when it fails, so a
// warning never turns a point into an error.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calibrate/calibration_table.h"
#include "workloads/memory_model.h"
#include "workloads/run_config.h"

namespace zerosim {

// What the config's readers noticed (an adapter_config.json made for another base model), then more
// than one node with a GPU count that leaves the last node partly empty (12 GPUs at 8 per node run as 8+4).
std::vector<std::string> config_warnings(const RunConfig& config);

// A CPU-measured file's op times applied to a GPU (allowed by calibration.allow_cpu_device), a host section
// measured on a CPU with another core count than the run's host, and from `simulate`'s
// compute_model JSON the calibrated ops whose times were extrapolated outside the file's measured range
// (or rescaled from another shape). `table` is the loaded calibration, null when there is none.
std::vector<std::string> calibration_warnings(const RunConfig& config, const calib::CalibrationTable* table,
                                              const nlohmann::json& compute_model);

// A step that fits only because the caching-allocator replay freed its cached blocks to make room for a
// segment (PyTorch's release_cached_blocks: a device synchronisation and cudaFree of every whole cached
// segment, each time), which slows the step where it happens.
std::vector<std::string> memory_warnings(const RunConfig& config, const MemoryResult& memory);

// CPU offload on a platform whose file has no CPU hosts (`rank_cpu_hosts` all empty): the copies then get
// a PCIe x16 of their own per GPU, shared with nothing (docs/platforms.md, "Host side").
std::vector<std::string> platform_warnings(const RunConfig& config,
                                           const std::vector<std::string>& rank_cpu_hosts);

// Writes each as "zerosim: warning: TEXT" on stderr.
void print_warnings(const std::vector<std::string>& warnings);

}  // namespace zerosim
