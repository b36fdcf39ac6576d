#include "sim/engine/host_timeline.h"

#include <algorithm>

namespace zerosim {

LaunchedOp launch_op(double host_start, double gpu_free, double host_s, int kernels, double gpu_s,
                     int synced_kernels) {
  const int total = std::max(1, kernels);
  const int synced = std::clamp(synced_kernels, 0, total);
  const double n = static_cast<double>(total);
  const double host_k = host_s / n, gpu_k = gpu_s / n;
  LaunchedOp op;
  const int free_running = total - synced;
  if (free_running > 0) {
    // (all of host_s and gpu_s when none is synchronised, exactly)
    op.host_end = host_start + (synced == 0 ? host_s : host_k * free_running);
    op.begin = std::max(gpu_free, host_start + host_k);
    op.end = std::max(op.begin + (synced == 0 ? gpu_s : gpu_k * free_running), op.host_end + gpu_k);
  } else {
    op.host_end = host_start;
    op.begin = std::max(gpu_free, host_start + host_k);
    op.end = gpu_free;
  }
  if (synced == 0) return op;
  // Each synchronised kernel: the host issues it, the GPU runs it once free, the host waits for its end.
  const double first = std::max(op.end, op.host_end + host_k) + gpu_k;
  op.end = first + (synced - 1) * (host_k + gpu_k);
  op.host_end = op.end;
  return op;
}

}  // namespace zerosim
