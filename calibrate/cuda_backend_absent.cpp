// Built instead of cuda/cuda_backend.cu where CMake found no nvcc: asking for the CUDA
// backend is then a usage error with a way forward, not a crash.
#include "calibrate/backend.h"

namespace zerosim::calib {

bool built_with_cuda() { return false; }

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw NoDeviceError(
      "--backend cuda: this zerosim-calibrate was built without CUDA (CMake found no nvcc); rebuild on a "
      "machine "
      "with the CUDA toolkit to time a GPU");
}

}  // namespace zerosim::calib
