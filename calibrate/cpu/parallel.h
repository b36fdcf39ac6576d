#pragma once
// Row-parallel loops for the CPU backend's elementwise kernels. OpenBLAS already uses every
// core for the GEMMs; without this the elementwise passes would run on one core and the CPU
// calibration would overstate their share of the step.
//
// A small pool of std::threads that sleep on a condition variable between loops. Not OpenMP:
// libgomp's workers spin after each parallel region and starve OpenBLAS's pthreads of the same
// cores (measured here: 100× slower LoRA ops with both active on 2 cores).
#include <cstdint>
#include <functional>

namespace zerosim::calib::cpu {

// Calls body(begin, end) on disjoint row ranges covering [0, rows), in parallel.
void parallel_ranges(int64_t rows, const std::function<void(int64_t, int64_t)>& body);

template <class F>
void parallel_rows(int64_t rows, F&& body) {
  parallel_ranges(rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

// Threads the elementwise loops use.
int elementwise_threads();

}  // namespace zerosim::calib::cpu
