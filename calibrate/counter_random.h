#pragma once
// Counter-based random numbers (SplitMix64 of seed + index): element i of a random tensor or
// dropout mask depends only on (seed, i), so the CPU reference and the CUDA kernels draw
// bit-identical masks and inputs without sharing a generator's state.
#include <cstdint>

#ifdef __CUDACC__
#define ZEROSIM_HD __host__ __device__
#else
#define ZEROSIM_HD
#endif

namespace zerosim::calib {

ZEROSIM_HD inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 24 random bits (exactly representable in fp32).
ZEROSIM_HD inline float uniform01(uint64_t seed, uint64_t index) {
  return static_cast<float>(splitmix64(seed * 0x100000001B3ull + index) >> 40) * (1.0f / 16777216.0f);
}

// peft's nn.Dropout(p): keep with probability 1 − p.
ZEROSIM_HD inline bool dropout_keep(uint64_t seed, uint64_t index, float p) {
  return uniform01(seed, index) >= p;
}

}  // namespace zerosim::calib
