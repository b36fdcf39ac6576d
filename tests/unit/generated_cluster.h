#pragma once
// The cluster: keys of a generated platform, for the tests that build one.
#include <cstdint>
#include <string>

#include "workloads/run_config.h"

namespace zerosim::testing {

inline ClusterSpec cluster(const std::string& gpu, int64_t nodes, int64_t gpn, const std::string& intra,
                           const std::string& inter, bool rail = true) {
  ClusterSpec c;
  c.gpu = gpu;
  c.gpus = nodes * gpn;
  c.gpus_per_node = gpn;
  c.intra = intra;
  c.inter = inter;
  c.rail_optimized = rail;
  return c;
}

}  // namespace zerosim::testing
