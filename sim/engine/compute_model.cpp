#include "sim/engine/compute_model.h"

#include <algorithm>

namespace zerosim {

double roofline_seconds(double flops, double bytes, double peak_flops, double flops_eff, double bandwidth,
                        double bw_eff, double floor_s) {
  const double compute = flops / (peak_flops * flops_eff);
  const double memory = bytes / (bandwidth * bw_eff);
  return std::max({compute, memory, floor_s});
}

double gemm_tile_utilization(int64_t m, int64_t n) {
  constexpr int64_t kTile = 128;
  if (m <= 0 || n <= 0) return 1.0;
  const auto padded = [](int64_t d) { return static_cast<double>((d + kTile - 1) / kTile * kTile); };
  return static_cast<double>(m) / padded(m) * static_cast<double>(n) / padded(n);
}

double gemm_wave_utilization(int64_t m, int64_t n, int64_t sms) {
  constexpr int64_t kTile = 128;
  if (m <= 0 || n <= 0 || sms <= 0) return 1.0;
  const int64_t tiles = ((m + kTile - 1) / kTile) * ((n + kTile - 1) / kTile);
  const int64_t waves = (tiles + sms - 1) / sms;
  return static_cast<double>(tiles) / static_cast<double>(waves * sms);
}

namespace {
// Output dimensions of the base-weight GEMMs (the ones large enough to fill the GPU): the share of the
// tiles' work that is real, times the share of the last wave's SMs that are busy.
double shape_utilization(const ComputeOp& op, int64_t sms) {
  const auto both = [sms](int64_t m, int64_t n) {
    return gemm_tile_utilization(m, n) * gemm_wave_utilization(m, n, sms);
  };
  if (op.op == "linear_fwd" || op.op == "linear_fwd_int8") return both(op.tokens, op.d_out);
  if (op.op == "linear_dx") return both(op.tokens, op.d_in);
  if (op.op == "linear_dw") return both(op.d_out, op.d_in);
  return 1.0;
}
}  // namespace

double matmul_peak_flops(const GpuSpec& gpu, MatmulMath math) {
  switch (math) {
    case MatmulMath::fp32:
      return gpu.fp32_flops;
    case MatmulMath::tf32:
      return gpu.tf32_flops;
    default:
      return gpu.bf16_flops;
  }
}

double ComputeModel::roofline(const ComputeOp& op) const {
  const double flops_eff = op.cls == OpClass::attention
                               ? gpu_.attention_efficiency
                               : gpu_.gemm_efficiency * shape_utilization(op, gpu_.sms);
  // fp32 training: the same achievable fractions of the fp32 or TF32 peak (docs/time-model.md, "fp32").
  const double peak = op.cls == OpClass::gemm_int8 ? gpu_.int8_ops : matmul_peak_flops(gpu_, op.math);
  return roofline_seconds(op.flops, op.bytes, peak, flops_eff, gpu_.mem_bw_bytes_s, eff_.memory,
                          eff_.launch_s * std::max(1, op.kernels));
}

void ComputeModel::use_calibration(std::shared_ptr<const calib::CalibrationTable> table) {
  table_ = std::move(table);
  transfer_ = table_ && (table_->device.kind != "gpu" || table_->device.name != gpu_.name);
}

OpTime ComputeModel::time(const ComputeOp& op) const {
  // A calibration file times the 16-bit ops; an fp32 op moves other bytes at another peak.
  if (table_ && op.math == MatmulMath::tensor16) {
    if (const auto t = table_->lookup(op.op, op.tokens, op.d_in, op.d_out, op.r)) {
      // The table times one instance (one expert's share of a mixture-of-experts op).
      const double instances = static_cast<double>(std::max<int64_t>(1, op.instances));
      OpTime out{t->seconds * instances, TimeSource::calibrated, t->extrapolated || t->shape_scaled};
      if (transfer_) {
        const auto& peaks = table_->peaks;
        const bool compute_bound = op.flops / peaks.gemm_flops_per_s >= op.bytes / peaks.memory_bytes_per_s;
        const double scale = compute_bound ? peaks.gemm_flops_per_s / (gpu_.bf16_flops * gpu_.gemm_efficiency)
                                           : peaks.memory_bytes_per_s / (gpu_.mem_bw_bytes_s * eff_.memory);
        out.seconds = std::max(t->seconds * instances * scale, eff_.launch_s * std::max(1, op.kernels));
        out.source = TimeSource::transferred;
      }
      return out;
    }
  }
  return {roofline(op), TimeSource::roofline, false};
}

}  // namespace zerosim
