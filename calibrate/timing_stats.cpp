#include "calibrate/timing_stats.h"

#include <algorithm>
#include <stdexcept>

namespace zerosim::calib {

TimingStats summarise(std::vector<double> samples_s) {
  if (samples_s.empty()) throw std::invalid_argument("summarise: no timing samples");
  std::sort(samples_s.begin(), samples_s.end());
  const size_t n = samples_s.size();
  const double median = n % 2 ? samples_s[n / 2] : 0.5 * (samples_s[n / 2 - 1] + samples_s[n / 2]);
  return {median, samples_s.front(), samples_s.back(), static_cast<int>(n)};
}

}  // namespace zerosim::calib
