#include "sim/engine/host_timeline.h"

#include <algorithm>

namespace zerosim {

LaunchedOp launch_op(double host_start, double gpu_free, double host_s, int kernels, double gpu_s) {
  const double n = static_cast<double>(std::max(1, kernels));
  LaunchedOp op;
  op.host_end = host_start + host_s;
  op.begin = std::max(gpu_free, host_start + host_s / n);
  op.end = std::max(op.begin + gpu_s, op.host_end + gpu_s / n);
  return op;
}

}  // namespace zerosim
