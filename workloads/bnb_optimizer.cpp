#include "workloads/bnb_optimizer.h"

namespace zerosim {

int64_t bnb_optimizer_blocksize(Version bitsandbytes) {
  return bitsandbytes >= Version{0, 44, 0} ? 256 : 2048;
}

BnbOptimizerStateBytes bnb_optimizer_state_bytes(const std::vector<int64_t>& tensors, OptimizerImpl o,
                                                 Version bitsandbytes) {
  BnbOptimizerStateBytes out;
  const int64_t block = bnb_optimizer_blocksize(bitsandbytes);
  bool any_8bit = false;
  for (const int64_t n : tensors) {
    if (n <= 0) continue;
    const bool eight = bitsandbytes_8bit(o) && n >= kBnbMin8bitSize;
    const int64_t states = 2 * n * (eight ? 1 : 4);  // state1, state2: uint8 or float32
    (bitsandbytes_paged(o) && n >= kBnbPagedMinNumel ? out.paged : out.device) += states;
    if (eight) {
      out.device += 2 * 4 * ((n + block - 1) / block);  // absmax1, absmax2: torch.zeros, never paged
      any_8bit = true;
    }
  }
  // name2qmap["dynamic"] and ["udynamic"] (F.create_dynamic_map: 256 floats each), moved to the device.
  if (any_8bit) out.device += 2 * 256 * 4;
  return out;
}

double bnb_step_bytes_per_param(OptimizerImpl o, int64_t param_bytes) {
  const double state = bitsandbytes_8bit(o) ? 1.0 : 4.0;
  return static_cast<double>(3 * param_bytes) + 4.0 * state;
}

}  // namespace zerosim
