#pragma once
// The time part of the report (§4 "time" and "throughput" keys) and its table.
#include <nlohmann/json.hpp>
#include <string>

#include "calibrate/calibration_table.h"
#include "sim/engine/compute_model.h"
#include "sim/engine/engine.h"
#include "workloads/run_config.h"
#include "workloads/step_graph.h"

namespace zerosim {

struct Throughput {
  double tokens_per_s = 0;  // whole job
  double tokens_per_s_per_gpu = 0;
  double mfu = 0;  // useful FLOPs / (step time · GPUs · dense bf16 peak)
};

// `tokens_per_gpu` and `model_flops_per_gpu`: one optimizer step's, over its micro-steps
// (micro_step_lengths.h MicroStepPrograms).
Throughput throughput(int64_t gpus, double tokens_per_gpu, double model_flops_per_gpu, const SimResult& r,
                      double peak_flops);
nlohmann::json time_json(const SimResult& r, const CriticalPath& cp);
nlohmann::json throughput_json(const Throughput& t);
std::string time_table(const SimResult& r, const Throughput& t, const CriticalPath& cp);

// Where compute times came from: counts of ops timed by the roofline, from the calibration file, or
// transferred from a calibration measured on another device (docs/calibration.md: calibrated_ops /
// estimated_ops).
nlohmann::json compute_model_json(const StepGraph& g, const ComputeModel& model);
std::string compute_model_line(const nlohmann::json& compute_model);

// Where the CPU step's figures came from (HostSpec::rates_source: catalogue, platform or calibration) and
// what they are: the CPU they describe, DeepSpeedCPUAdam's per-core rate, the node's memory bandwidth
// (docs/time-model.md, "CPU offload"). `calibration` is the run's file, null when there is none.
nlohmann::json host_model_json(const HostSpec& host, const calib::CalibrationTable* calibration);
std::string host_model_line(const nlohmann::json& host_model);

// Chrome trace event format: one process per rank ("rank N"), two threads per process (tid 0 "compute",
// tid 1 "nccl"; with CPU offload also tid 2 "cpu", DeepSpeedCPUAdam, and tid 3 "pcie", the copies), named by
// process_name / thread_name metadata events; opens in Perfetto. Event names are the step graph's task names:
// ops and the collectives of a module share its name ("L3.q_proj...").
nlohmann::json chrome_trace(const SimResult& r);

}  // namespace zerosim
