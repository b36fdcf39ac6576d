#include "calibrate/cpu/host_benchmark.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <sstream>
#include <vector>

#include "calibrate/cpu/cpu_info.h"
#include "calibrate/cpu/host_kernels.h"
#include "calibrate/cpu/parallel.h"
#include "calibrate/timing_stats.h"

namespace zerosim::calib::cpu {

namespace {

// Each pass streams at least a gigabyte at full size; the median of a few is stable to a few per cent.
constexpr int kMaxHostRepeats = 5;

// Uninitialised, 64-byte aligned (a cache line, one AVX-512 vector): pages are first touched by the
// thread that will stream them, so they land on its NUMA node.
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using FloatArray = std::unique_ptr<float[], FreeDeleter>;

FloatArray allocate(int64_t n) {
  const size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  return FloatArray(p);
}

// Median seconds of plan.repeats runs of `pass` after plan.warmup untimed ones.
double median_seconds(const HostBenchmarkPlan& plan, const std::function<void()>& pass) {
  for (int i = 0; i < plan.warmup; ++i) pass();
  std::vector<double> samples;
  for (int i = 0; i < plan.repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return summarise(samples).median_s;
}

struct AdamArrays {
  FloatArray param, grad, exp_avg, exp_avg_sq;
};

// Parameters near 1, gradients of a few 1e-3 of both signs, zero state: the values of a fine-tuning step,
// with no denormals to slow any pass down.
void fill_adam(AdamArrays& a, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    a.param[i] = 1.0f + 1e-3f * static_cast<float>(i % 11);
    a.grad[i] = 1e-3f * static_cast<float>(i % 7 - 3) + 5e-4f;
    a.exp_avg[i] = 0.0f;
    a.exp_avg_sq[i] = 0.0f;
  }
}

// Elements per second of the Adam loop over n elements, on this thread or on every thread of the pool.
double adam_rate(const HostBenchmarkPlan& plan, bool all_threads) {
  const int64_t n = plan.adam_elements;
  AdamArrays a{allocate(n), allocate(n), allocate(n), allocate(n)};
  const auto over = [&](const std::function<void(int64_t, int64_t)>& body) {
    if (all_threads)
      parallel_ranges(n, body);
    else
      body(0, n);
  };
  over([&](int64_t b, int64_t e) { fill_adam(a, b, e); });
  AdamHyperparameters h;
  h.weight_decay = 0.01f;  // a fine-tuning AdamW: the decoupled-decay FMA runs, as it does in DeepSpeed
  int64_t step = 0;
  const double s = median_seconds(plan, [&] {
    const AdamStepConstants c = adam_step_constants(h, ++step);
    over([&](int64_t b, int64_t e) {
      adam_step(a.param.get(), a.grad.get(), a.exp_avg.get(), a.exp_avg_sq.get(), b, e, c);
    });
  });
  return static_cast<double>(n) / s;
}

// STREAM's triad on every thread; the write-allocate read of `a` is not counted, as STREAM does not.
double triad_bytes_per_s(const HostBenchmarkPlan& plan) {
  const int64_t n = plan.triad_elements;
  FloatArray a = allocate(n), b = allocate(n), c = allocate(n);
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) a[i] = 0.0f, b[i] = 1.0f, c[i] = 2.0f;
  });
  const double s = median_seconds(plan, [&] {
    parallel_ranges(n, [&](int64_t lo, int64_t hi) { triad(a.get(), b.get(), c.get(), 3.0f, lo, hi); });
  });
  return static_cast<double>(kTriadBytesPerElement * n) / s;
}

std::string count_text(int64_t n) {
  return (n % (int64_t{1} << 20) == 0) ? std::to_string(n >> 20) + " Mi" : std::to_string(n);
}

}  // namespace

HostBenchmarkPlan host_benchmark_plan(bool quick, int warmup, int repeats) {
  HostBenchmarkPlan p;
  if (quick) p.adam_elements = p.triad_elements = int64_t{16} << 20;
  p.warmup = std::max(warmup, 1);  // the first pass faults the pages in: never timed
  p.repeats = std::clamp(repeats, 1, kMaxHostRepeats);
  return p;
}

HostMeasurement measure_host(const HostBenchmarkPlan& plan, std::ostream& progress) {
  const CpuInfo info = read_cpu_info();
  HostMeasurement h;
  h.cpu = info.model;
  h.cores = info.physical_cores > 0 ? info.physical_cores : info.logical;
  h.cores_kind = info.physical_cores > 0 ? "physical" : "logical";
  h.sockets = info.sockets;
  h.threads_used = elementwise_threads();
  h.cpu_adam_elements_per_s_per_core = adam_rate(plan, false);
  h.cpu_adam_elements_per_s_all_cores = adam_rate(plan, true);
  h.mem_bw_bytes_s = triad_bytes_per_s(plan);
  const std::string isa = adam_step_isa();
  std::ostringstream source;
  source << "measured by zerosim-calibrate: fp32 AdamW loop written as DeepSpeedCPUAdam's Step_AVX ("
         << kAdamBytesPerElement << " B/element), compiled by zerosim's compiler (-O3, auto-vectorised, "
         << isa << " version), not DeepSpeed's AVX intrinsics; " << count_text(plan.adam_elements)
         << " elements on 1 thread and on " << h.threads_used << "; memory: triad a = b + s*c over 3 x "
         << count_text(plan.triad_elements) << " fp32 on " << h.threads_used
         << " threads, 12 B/element; median of " << plan.repeats << " after " << plan.warmup << " warm-up";
  h.source = source.str();
  progress << "[host] " << h.cpu << ": Adam " << h.cpu_adam_elements_per_s_per_core / 1e6
           << " M elements/s on 1 thread, " << h.cpu_adam_elements_per_s_all_cores / 1e6 << " M on "
           << h.threads_used << " (" << isa << "); triad " << h.mem_bw_bytes_s / 1e9 << " GB/s\n";
  progress.flush();
  return h;
}

}  // namespace zerosim::calib::cpu
