#include "sim/compute_model.h"

#include <algorithm>

namespace zerosim {

double roofline_seconds(double flops, double bytes, double peak_flops, double flops_eff, double bandwidth,
                        double bw_eff, double floor_s) {
  const double compute = flops / (peak_flops * flops_eff);
  const double memory = bytes / (bandwidth * bw_eff);
  return std::max({compute, memory, floor_s});
}

double ComputeModel::seconds(const ComputeOp& op) const {
  const double flops_eff = op.cls == OpClass::gemm ? eff_.gemm : op.cls == OpClass::attention ? eff_.attention : eff_.gemm;
  return roofline_seconds(op.flops, op.bytes, gpu_.bf16_flops, flops_eff, gpu_.mem_bw_bytes_s, eff_.memory,
                          eff_.launch_s);
}

}  // namespace zerosim
