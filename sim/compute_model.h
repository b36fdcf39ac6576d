#pragma once
// Seconds for one compute op: a roofline over the GPU catalogue's peaks with documented achievable
// fractions (docs/time-model.md), or the measured time from a calibration file when it has the op.
#include "workloads/gpu_catalogue.h"
#include "workloads/step_program.h"

namespace zerosim {

struct ComputeEfficiency {
  double gemm = 0.78;       // cuBLAS bf16 GEMMs at transformer shapes reach ~75-80% of the dense peak
  double attention = 0.60;  // FlashAttention-2 forward+backward reaches ~50-70% of peak on A100/H100
  double memory = 0.80;     // elementwise kernels reach ~80% of peak DRAM bandwidth
  double launch_s = 4e-6;   // a kernel launch never takes less than this on the GPU timeline
};

class ComputeModel {
 public:
  ComputeModel(GpuSpec gpu, ComputeEfficiency eff = {}) : gpu_(std::move(gpu)), eff_(eff) {}
  double seconds(const ComputeOp& op) const;
  const GpuSpec& gpu() const { return gpu_; }

 private:
  GpuSpec gpu_;
  ComputeEfficiency eff_;
};

// max(flops / (peak · eff_flops), bytes / (bandwidth · eff_bw)), never below the launch floor.
double roofline_seconds(double flops, double bytes, double peak_flops, double flops_eff, double bandwidth,
                        double bw_eff, double floor_s);

}  // namespace zerosim
