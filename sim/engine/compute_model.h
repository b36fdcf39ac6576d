#pragma once
// Seconds for one compute op: a roofline over the GPU catalogue's peaks with documented achievable
// fractions (docs/time-model.md), or the measured time from a calibration file when it has the op.
// A calibration taken on another device is transferred through its achieved efficiency and labelled so.
#include <memory>
#include <string>

#include "calibrate/calibration_table.h"
#include "workloads/gpu_catalogue.h"
#include "workloads/step_program.h"

namespace zerosim {

// GEMM and attention efficiencies are per GPU architecture (platforms/gpus.yaml, with sources);
// these are the ones that are not.
struct ComputeEfficiency {
  double memory = 0.80;    // elementwise kernels reach ~80% of peak DRAM bandwidth
  double launch_s = 4e-6;  // a kernel never takes less than this on the GPU timeline (per kernel of the op)
};

enum class TimeSource { roofline, calibrated, transferred };

struct OpTime {
  double seconds = 0;
  TimeSource source = TimeSource::roofline;
  bool extrapolated = false;  // the calibration had to extrapolate or rescale a shape
};

class ComputeModel {
 public:
  explicit ComputeModel(GpuSpec gpu, ComputeEfficiency eff = {}) : gpu_(std::move(gpu)), eff_(eff) {}

  // Measured times replace the roofline for the ops the file has. If the file was measured on another
  // device (by name), times are transferred: t · (device's measured peak) / (target peak · achievable
  // fraction), with the GEMM or bandwidth peak depending on which bounds the op on the measuring device.
  void use_calibration(std::shared_ptr<const calib::CalibrationTable> table);
  bool transfers() const { return transfer_; }
  const calib::CalibrationTable* calibration() const { return table_.get(); }

  OpTime time(const ComputeOp& op) const;
  double seconds(const ComputeOp& op) const { return time(op).seconds; }
  const GpuSpec& gpu() const { return gpu_; }

 private:
  double roofline(const ComputeOp& op) const;
  GpuSpec gpu_;
  ComputeEfficiency eff_;
  std::shared_ptr<const calib::CalibrationTable> table_;
  bool transfer_ = false;
};

// The peak `math` runs at on `gpu`: bf16/fp16 tensor cores, fp32 CUDA cores or TF32 tensor cores (0 where
// a platform file's GPU does not give it).
double matmul_peak_flops(const GpuSpec& gpu, MatmulMath math);

// Fraction of a GEMM's 128×128 output tiles that is real output (tile quantization: M = 1304 fills 11
// tiles of 128 rows, 1408, so 92.6% of the work is useful; NVIDIA's "Matrix Multiplication Background"
// user's guide, "Tile quantization").
double gemm_tile_utilization(int64_t m, int64_t n);

// Fraction of a GPU's SMs a GEMM keeps busy: its M×N output splits into 128×128 tiles that run in
// waves of `sms` tiles; the last wave is partly empty (wave quantization).
double gemm_wave_utilization(int64_t m, int64_t n, int64_t sms);

// max(flops / (peak · eff_flops), bytes / (bandwidth · eff_bw)), never below the launch floor (the caller
// passes one launch_s per kernel the op launches).
double roofline_seconds(double flops, double bytes, double peak_flops, double flops_eff, double bandwidth,
                        double bw_eff, double floor_s);

}  // namespace zerosim
