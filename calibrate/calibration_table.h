#pragma once
// A calibration file (docs/calibration.md) in memory: where it was measured, the measured
// peaks, and one row per timed (op, tokens, d_in, d_out, r). The simulator looks op times up
// here; the lookup interpolates over tokens, then over r, then scales from the nearest
// measured shape, and says which of those it had to do.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/op_catalogue.h"

namespace zerosim::calib {

inline constexpr int kCalibrationSchemaVersion = 1;

struct DeviceDescription {
  std::string name;                               // "NVIDIA A100-SXM4-80GB" or the CPU model
  std::string backend;                            // cuda | cpu
  std::string kind;                               // gpu | cpu: a CPU file times the CPU, never a GPU
  std::map<std::string, std::string> properties;  // clocks, memory, compute capability, threads
  std::map<std::string, std::string> software;    // versions of CUDA, cuBLAS, cuDNN, OpenBLAS, compiler
};

struct Precision {
  std::string inputs = "bf16";
  std::string accumulate = "fp32";
  int element_bytes = 2;
};

struct MeasuredPeaks {
  double gemm_flops_per_s = 0;      // best square GEMM
  std::vector<int64_t> gemm_shape;  // {m, n, k} where it was reached
  double memory_bytes_per_s = 0;    // best device-to-device copy, read + write bytes
};

// The host's CPU as zerosim-calibrate measured it (docs/calibration.md, "The host section"): what CPU
// offload's step (DeepSpeedCPUAdam) runs at. Either backend measures it: the host is the machine's CPU,
// whatever the GPU. A run whose calibration file has one takes its CPU figures from it.
struct HostMeasurement {
  std::string cpu;           // /proc/cpuinfo's model name
  int64_t cores = 0;         // 0: not stated
  std::string cores_kind;    // physical | logical (no topology in /proc/cpuinfo); empty when cores is 0
  int64_t sockets = 0;       // 0: not stated
  int64_t threads_used = 0;  // threads of the all-core runs; 0: not stated
  double cpu_adam_elements_per_s_per_core = 0;   // the Adam loop on one thread, arrays out of cache
  double cpu_adam_elements_per_s_all_cores = 0;  // the same on threads_used threads; 0: not stated
  double mem_bw_bytes_s = 0;                     // the node's sustained bandwidth (triad, all threads)
  std::string source;                            // how it was measured
};

struct OpTiming {
  OpKey key;
  double seconds = 0;  // median of the timed repeats
  double min_s = 0;
  double max_s = 0;
  int repeats = 0;
};

// How a looked-up time was obtained.
struct CalibratedTime {
  double seconds = 0;
  bool extrapolated = false;  // tokens or r outside the measured range
  bool shape_scaled =
      false;  // no row with this (d_in, d_out): scaled from the nearest shape by the cost model
};

class CalibrationTable {
 public:
  DeviceDescription device;
  Precision precision;
  MeasuredPeaks peaks;
  std::map<std::string, std::string> settings;  // how it was measured (model, repeats, attention impl, ...)
  std::string created_utc;
  std::optional<HostMeasurement> host;  // the `host:` section, absent in files without one

  void add(const OpTiming& timing);
  const std::vector<OpTiming>& rows() const { return rows_; }
  // False for a host-only file (zerosim-calibrate --host-only): nothing for the compute model.
  bool has_ops() const { return !rows_.empty(); }

  // Seconds for one run of `op` at the key, or nullopt when the file holds no row of that op.
  std::optional<CalibratedTime> lookup(const OpKey& key) const;
  std::optional<CalibratedTime> lookup(const std::string& op, int64_t tokens, int64_t d_in, int64_t d_out,
                                       int64_t r) const;
  std::optional<double> seconds(const std::string& op, int64_t tokens, int64_t d_in, int64_t d_out, int64_t r,
                                bool* extrapolated = nullptr) const;

 private:
  std::vector<OpTiming> rows_;
};

// Throws zerosim::ConfigError(file, key, message) on anything malformed. A file holds timed ops (with
// their peaks), a host section, or both.
CalibrationTable load_calibration(const std::string& path);
CalibrationTable parse_calibration(const std::string& yaml_text, const std::string& file);
std::string to_yaml(const CalibrationTable& table);

}  // namespace zerosim::calib
