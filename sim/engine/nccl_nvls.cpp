#include "sim/engine/nccl_nvls.h"

#include <algorithm>
#include <cmath>

namespace zerosim {

int64_t nvls_chunk_bytes(int64_t bytes, int64_t concurrent_ops) {
  // The same three tests, in the same order, as NCCL 2.18's enqueue.cc (maxChunkSize 128 KiB in one node).
  const int64_t ops = std::max<int64_t>(1, concurrent_ops);
  int64_t chunk = int64_t{128} * 1024;
  if (bytes < 64 * ops * chunk && chunk > 65536) chunk = 65536;
  if (bytes < 8 * ops * chunk && chunk > 32768) chunk = 32768;
  if (bytes < 2 * ops * chunk && chunk > 16384) chunk = 16384;
  return chunk;
}

namespace {
int64_t chunk_rounds(int64_t bytes, int64_t ops, int64_t chunk) {
  const int64_t per_round = std::max<int64_t>(1, ops) * chunk;
  return std::max<int64_t>(1, (bytes + per_round - 1) / per_round);
}
}  // namespace

int64_t nvls_chunk_rounds(int64_t bytes, int64_t concurrent_ops) {
  return chunk_rounds(bytes, concurrent_ops, nvls_chunk_bytes(bytes, concurrent_ops));
}

double nvls_handshakes_s(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t chunk) {
  const int64_t rounds = chunk_rounds(bytes, concurrent_ops, chunk);
  return static_cast<double>(rounds * cm.nvls_chunk_handshakes) * cm.step_overhead_s;
}

double nvls_sync_s(const CommModel& cm, int64_t bytes, int64_t concurrent_ops, int64_t chunk) {
  return cm.nvls_latency_s + nvls_handshakes_s(cm, bytes, concurrent_ops, chunk);
}

int64_t nvls_loop_bytes(int64_t bytes, int64_t concurrent_ops, int64_t chunk) {
  return std::min(bytes, std::max<int64_t>(1, concurrent_ops) * chunk);
}

double nvls_first_loop_s(const CommModel& cm, double hop_bandwidth, int64_t loop_bytes, int64_t gpus) {
  if (hop_bandwidth <= 0) return 0;
  const double g = static_cast<double>(std::max<int64_t>(1, gpus));
  return (2.0 + 2.0 / g) * static_cast<double>(loop_bytes) / (cm.nvls_efficiency * hop_bandwidth);
}

double nvls_fill_s(const CommModel& cm, double hop_bandwidth, int64_t bytes, int64_t n) {
  const int64_t ops = cm.nvls_channels * n;
  // The steady state charges half the first loop's stages (out and in overlap there).
  return 0.5 *
         nvls_first_loop_s(cm, hop_bandwidth, nvls_loop_bytes(bytes, ops, nvls_chunk_bytes(bytes, ops)), n);
}

double nvls_overhead_s(const CommModel& cm, int64_t bytes, int64_t n) {
  const int64_t ops = cm.nvls_channels * n;
  return nvls_sync_s(cm, bytes, ops, nvls_chunk_bytes(bytes, ops));
}

double nvls_predicted_s(const CommModel& cm, double hop_bandwidth, int64_t bytes, int64_t n) {
  const double s = static_cast<double>(bytes), nn = static_cast<double>(n);
  return (1.0 + 1.0 / nn) * s / (cm.nvls_efficiency * hop_bandwidth) + nvls_overhead_s(cm, bytes, n) +
         nvls_fill_s(cm, hop_bandwidth, bytes, n);
}

CollectiveSchedule nvls_schedule(const CommModel& cm, const FlowPlan& single_node_ring, int64_t bytes,
                                 int64_t n) {
  const int64_t volume = bytes + (bytes + n - 1) / n;
  const auto wire = static_cast<uint64_t>(std::llround(static_cast<double>(volume) / cm.nvls_efficiency));
  CollectiveSchedule schedule;
  schedule.algorithm = NcclAlgorithm::nvls;
  schedule.plan = &single_node_ring;
  schedule.wire_bytes = [wire](const FlowSend&) { return wire; };
  schedule.settle_s =
      cm.launch_s + nvls_overhead_s(cm, bytes, n) + nvls_fill_s(cm, single_node_ring.hop_bandwidth, bytes, n);
  schedule.bytes_per_rank = volume;
  schedule.flows = single_node_ring.flows;
  return schedule;
}

}  // namespace zerosim
