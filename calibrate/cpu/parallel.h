#pragma once
// Row-parallel loops for the CPU backend's elementwise kernels. OpenBLAS already uses every
// core for the GEMMs; without this the elementwise passes would run on one core and the CPU
// calibration would overstate their share of the step.
#include <cstdint>

namespace zerosim::calib::cpu {

template <class F>
void parallel_rows(int64_t rows, F&& body) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) body(i);
}

// Threads the elementwise loops use (1 without OpenMP).
int elementwise_threads();

}  // namespace zerosim::calib::cpu
