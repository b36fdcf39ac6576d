#include "calibrate/cpu/matrix.h"

#include "calibrate/counter_random.h"

namespace zerosim::calib::cpu {

void fill_uniform(std::vector<float>& v, uint64_t seed, float scale) {
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * (2.0f * uniform01(seed, i) - 1.0f);
}

}  // namespace zerosim::calib::cpu
