#include "calibrate/calibrate_run.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <sstream>

#include "calibrate/cpu/host_benchmark.h"
#include "calibrate/sweep.h"
#include "calibrate/timing_stats.h"

namespace zerosim::calib {

namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string list_text(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::string seconds_text(double s) {
  std::ostringstream os;
  os.precision(3);
  os << s << " s";
  return os.str();
}

HostMeasurement measure_host(const CliOptions& o, std::ostream& progress) {
  return cpu::measure_host(cpu::host_benchmark_plan(o.quick, o.warmup, o.repeats), progress);
}

OpTiming time_point(Backend& backend, const OpKey& key, const TimingPlan& plan) {
  const TimingStats st = summarise(backend.time_op(key, plan));
  return {key, st.median_s, st.min_s, st.max_s, st.repeats};
}

}  // namespace

CalibrationTable run_calibration(Backend& backend, const ModelSpec& model, const CliOptions& o,
                                 std::ostream& progress) {
  const auto wall0 = std::chrono::steady_clock::now();
  CalibrationTable table;
  table.device = backend.describe();
  table.precision = backend.precision();
  table.created_utc = utc_now();
  table.settings = backend.settings();
  table.settings["model"] = model.name;
  table.settings["tokens"] = list_text(o.tokens);
  table.settings["ranks"] = list_text(o.ranks);
  table.settings["seq_lens"] = list_text(o.seq_lens);
  table.settings["repeats"] = std::to_string(o.repeats);
  table.settings["warmup"] = std::to_string(o.warmup);
  table.settings["quick"] = o.quick ? "true" : "false";
  table.settings["attention_head_dim"] = std::to_string(model.head_dim);

  const TimingPlan plan{o.warmup, o.repeats, model.head_dim};
  const SweepRequest request{o.tokens, o.ranks, o.seq_lens, o.memcpy_bytes, o.composites};
  const std::vector<SweepGroup> groups = plan_sweep(model, request);

  // Peak GEMM throughput: a square linear_fwd, the best case of the device's GEMM library.
  const int64_t n = backend.peak_gemm_size();
  const OpTiming peak = time_point(backend, {OpId::linear_fwd, n, n, n, 0}, plan);
  table.peaks.gemm_flops_per_s = op_flops(peak.key) / peak.seconds;
  table.peaks.gemm_shape = {n, n, n};
  progress << "[peak] square GEMM " << n << "³: " << table.peaks.gemm_flops_per_s / 1e9 << " GFLOP/s\n";

  for (size_t g = 0; g < groups.size(); ++g) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const OpKey& key : groups[g].keys) {
      const OpTiming t = time_point(backend, key, plan);
      table.add(t);
      if (key.op == OpId::memcpy_d2d)
        table.peaks.memory_bytes_per_s =
            std::max(table.peaks.memory_bytes_per_s, op_bytes(key, 1) / t.seconds);
      else if ((key.op == OpId::linear_fwd || key.op == OpId::linear_dx || key.op == OpId::linear_dw) &&
               op_flops(key) / t.seconds > table.peaks.gemm_flops_per_s) {
        // A model shape beat the square GEMM: the peak is the best GEMM measured, wherever.
        table.peaks.gemm_flops_per_s = op_flops(key) / t.seconds;
        table.peaks.gemm_shape = {key.tokens, key.d_out, key.d_in};
      }
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    progress << "[" << g + 1 << "/" << groups.size() << "] " << groups[g].label << ": "
             << groups[g].keys.size() << " points, " << seconds_text(dt) << "\n";
    progress.flush();
  }
  // The host after the ops: the GPU (or OpenBLAS) work above is done and the CPU is otherwise idle.
  if (o.host) table.host = measure_host(o, progress);
  table.settings["wall_time_s"] =
      std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count());
  return table;
}

CalibrationTable run_host_calibration(const CliOptions& o, std::ostream& progress) {
  const auto wall0 = std::chrono::steady_clock::now();
  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  CalibrationTable table;
  table.device = cpu->describe();
  table.precision = cpu->precision();
  table.created_utc = utc_now();
  table.settings["host_only"] = "true";
  table.settings["quick"] = o.quick ? "true" : "false";
  table.settings["repeats"] = std::to_string(o.repeats);
  table.settings["warmup"] = std::to_string(o.warmup);
  table.host = measure_host(o, progress);
  table.settings["wall_time_s"] =
      std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count());
  return table;
}

}  // namespace zerosim::calib
