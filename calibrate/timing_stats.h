#pragma once
// Summary of repeated timings: the median is what the simulator uses (robust to a stray slow
// run); min and max show the spread.
#include <vector>

namespace zerosim::calib {

struct TimingStats {
  double median_s = 0;
  double min_s = 0;
  double max_s = 0;
  int repeats = 0;
};

// Throws std::invalid_argument on an empty sample.
TimingStats summarise(std::vector<double> samples_s);

}  // namespace zerosim::calib
