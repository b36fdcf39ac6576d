#include "sim/batch/run_warnings.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "workloads/units.h"

namespace zerosim {

std::vector<std::string> config_warnings(const RunConfig& c) {
  std::vector<std::string> out = c.peft.warnings;
  // The catalogue's per-core CPU Adam rates are node rates divided by cores (the ZeRO-Offload paper's
  // memory-bound DGX-2 figure): a lower bound for one core, right only where every core works. With few
  // threads per rank the CPU step rests on it (docs/platforms.md, "Host side").
  const bool offloaded = c.zero.offload_optimizer != "none";  // the CPU step needs an offloaded optimizer
  const int64_t threads = c.cluster.cpu_threads(c.host.cores());
  const int64_t ranks = c.cluster.ranks_per_node();
  if (offloaded && c.host.rates_source == "catalogue" && threads * ranks < c.host.cores())
    out.push_back(
        "the CPU step runs on " + std::to_string(threads) + " thread(s) per rank (" + c.cluster.launcher +
        "), at the host catalogue's per-core CPU Adam rate, a lower bound for one core: measure the "
        "host with zerosim-calibrate --host-only and give the file as calibration");
  const int64_t gpus = c.cluster.gpus, per_node = c.cluster.gpus_per_node;
  if (gpus <= per_node || gpus % per_node == 0) return out;
  const std::string full = std::to_string(gpus / per_node), last = std::to_string(gpus % per_node);
  out.push_back("cluster.gpus = " + std::to_string(gpus) + " is not a multiple of cluster.gpus_per_node = " +
                std::to_string(per_node) + ": the run uses " + full + " full node(s) of " +
                std::to_string(per_node) + " and one of " + last +
                " GPUs; its collectives cross nodes as on " + std::to_string(c.cluster.nodes() * per_node) +
                " GPUs while fewer share the work, so compare the step time with a multiple of " +
                std::to_string(per_node));
  return out;
}

std::vector<std::string> calibration_warnings(const RunConfig& c, const calib::CalibrationTable* table,
                                              const nlohmann::json& cm) {
  std::vector<std::string> out;
  if (!table) return out;
  if (table->device.kind == "cpu" && table->has_ops())
    out.push_back("calibration " + c.calibration + " was measured on a CPU (" + table->device.name +
                  "); its times are transferred to the " + c.gpu.id +
                  " through measured-peak ratios (calibration.allow_cpu_device: true), a rough estimate");
  // A host section measured on another machine than the run's nodes: the figures are taken as they are,
  // which for the node's memory bandwidth is a guess. Compared only where the file counted physical cores.
  if (const auto& h = table->host;
      h && h->cores_kind == "physical" && h->cores > 0 && h->cores != c.host.cores())
    out.push_back("calibration " + c.calibration + "'s host section measured " + h->cpu + " with " +
                  std::to_string(h->cores) + " physical cores; the run's host (" + c.host.id + ") has " +
                  std::to_string(c.host.cores()) +
                  ": its per-core Adam rate and its node's memory bandwidth are used for that host");
  // zerosim-calibrate times the 16-bit ops; an fp32 step's ops move other bytes at another peak.
  if (c.train.precision == Precision::fp32 && table->has_ops())
    out.push_back("calibration " + c.calibration +
                  " times bf16 ops; train.precision fp32 runs every op on the roofline (fp32 or TF32 peak), "
                  "none from the file");
  const auto extrapolated = cm.value("extrapolated_ops", int64_t{0});
  if (extrapolated > 0)
    out.push_back(std::to_string(extrapolated) + " of " +
                  std::to_string(cm.value("calibrated_ops", int64_t{0})) + " calibrated ops lie outside " +
                  c.calibration +
                  "'s measured range: their times are extrapolated in tokens or r, or scaled from the "
                  "nearest measured shape");
  return out;
}

std::vector<std::string> memory_warnings(const RunConfig& c, const MemoryResult& m) {
  std::vector<std::string> out;
  if (m.gpu_fits && m.paged_evicted_bytes > 0) {
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.2f", static_cast<double>(m.paged_evicted_bytes) / kBytesPerGiB);
    out.push_back(std::string("the paged optimizer's states fit only in part: ") + gib +
                  " GiB of them stay in host memory and migrate to the GPU and back every step (the "
                  "time's offload copies; docs/memory-model.md §10)");
  }
  if (!m.gpu_fits || m.allocator_retries == 0) return out;
  const int64_t n = m.allocator_retries;
  out.push_back(
      "the step fits only because PyTorch's caching allocator frees its cached blocks to make room (" +
      (n == 1 ? std::string("once") : std::to_string(n) + " times") +
      " in the replayed steps: a device synchronisation and cudaFree each time, docs/memory-model.md "
      "§5); memory.allocator.expandable_segments or a smaller " +
      (c.train.micro_batch > 1 ? std::string("train.micro_batch") : std::string("train.seq_len")) +
      " leaves headroom");
  return out;
}

std::vector<std::string> platform_warnings(const RunConfig& c,
                                           const std::vector<std::string>& rank_cpu_hosts) {
  if (!c.zero.offloads() ||
      !std::all_of(rank_cpu_hosts.begin(), rank_cpu_hosts.end(), [](const auto& h) { return h.empty(); }))
    return {};
  return {
      "platform " + c.cluster.platform +
      " has no CPU hosts: CPU offload's copies run on a PCIe x16 of their own per GPU, shared with nothing "
      "(docs/platforms.md, \"Host side\"; zerosim platform writes them)"};
}

void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::cerr << "zerosim: warning: " << w << "\n";
}

}  // namespace zerosim
