#pragma once
// What a calibration backend (CPU or CUDA) provides: a description of the device it runs on
// and the ability to time one op of the catalogue at one key. The sweep, statistics and the
// calibration file are shared; only these two things differ between backends.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/calibration_table.h"
#include "calibrate/op_catalogue.h"
#include "workloads/error.h"

namespace zerosim::calib {

struct TimingPlan {
  int warmup = 2;
  int repeats = 10;
  // The attention key (tokens, seq_len, q_dim, kv_dim) does not say how q_dim splits into
  // heads; the model does, so the run passes its head_dim here.
  int64_t attention_head_dim = 128;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceDescription describe() const = 0;
  virtual Precision precision() const = 0;
  // Extra lines for the file's settings (which attention implementation, threads, ...).
  virtual std::map<std::string, std::string> settings() const = 0;
  // Seconds of each of plan.repeats runs after plan.warmup untimed runs, inputs allocated once.
  virtual std::vector<double> time_op(const OpKey& key, const TimingPlan& plan) = 0;
  // Side of the square GEMM (linear_fwd with T = d_in = d_out) timed for the peak: large
  // enough to reach the device's best throughput, small enough to finish in seconds.
  virtual int64_t peak_gemm_size() const = 0;
};

// No usable device for the requested backend (no GPU, no driver, binary built without CUDA).
class NoDeviceError : public Error {
 public:
  using Error::Error;
};

std::unique_ptr<Backend> make_cpu_backend();
// Throws NoDeviceError when there is no CUDA device or the binary was built without CUDA.
std::unique_ptr<Backend> make_cuda_backend(int device_index);
bool built_with_cuda();

}  // namespace zerosim::calib
