#pragma once
// Which (op, key) points a calibration run times for one model: the model's own layer shapes
// at every requested token count and rank. Shared by both backends.
#include <cstdint>
#include <string>
#include <vector>

#include "calibrate/op_catalogue.h"
#include "workloads/model_spec.h"

namespace zerosim::calib {

struct SweepRequest {
  std::vector<int64_t> tokens;        // T = micro_batch · seq_len
  std::vector<int64_t> ranks;         // LoRA/DoRA r
  std::vector<int64_t> seq_lens;      // attention is timed at every seq_len dividing T
  std::vector<int64_t> memcpy_bytes;  // sizes of the device-to-device copy
  bool include_composites = true;     // dora_fwd/bwd{,_dropout}: check the sum of the parts
};

// Points sharing one shape and differing only in tokens form a group: the harness prints one
// progress line per group.
struct SweepGroup {
  std::string label;  // "q_proj,k_proj,v_proj,o_proj 4096→4096 r=16"
  std::vector<OpKey> keys;
};

std::vector<SweepGroup> plan_sweep(const ModelSpec& model, const SweepRequest& request);

// The distinct (d_in, d_out) of one decoder layer's linears plus the lm_head, with the module
// names that share each shape.
struct LinearShape {
  int64_t d_in;
  int64_t d_out;
  std::string modules;
};
std::vector<LinearShape> distinct_linear_shapes(const ModelSpec& model);

}  // namespace zerosim::calib
