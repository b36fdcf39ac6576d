#pragma once
// A dense row-major fp32 matrix: the CPU backend's only tensor type.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace zerosim::calib::cpu {

struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> v;

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0f) {}
  int64_t size() const { return rows * cols; }
  float* data() { return v.data(); }
  const float* data() const { return v.data(); }
  float& at(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
  float at(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
  float* ptr(int64_t i, int64_t j) { return v.data() + i * cols + j; }
  const float* ptr(int64_t i, int64_t j) const { return v.data() + i * cols + j; }
};

// Deterministic pseudo-random fill, uniform in [-scale, scale]: the same seed gives the same
// tensor on every machine, so GPU and CPU runs see identical inputs.
void fill_uniform(std::vector<float>& v, uint64_t seed, float scale);
inline void fill_uniform(Matrix& m, uint64_t seed, float scale) { fill_uniform(m.v, seed, scale); }

}  // namespace zerosim::calib::cpu
