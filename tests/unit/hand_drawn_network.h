#pragma once
// A cluster drawn by hand for the collective planners' unit tests, shaped like the platforms that
// sim/platform generates but with round numbers: GPU g of node k is "n{k}g{g}". Inside a node a flow
// crosses the sender's NVLink port up, the node's NVSwitch crossbar and the receiver's port down;
// between nodes it leaves through the sender's NIC and enters through the receiver's (one rail per
// local GPU, the switches between them wide enough never to be the bottleneck).
#include <cstdint>
#include <string>

#include "sim/engine/collective_plan.h"

namespace zerosim::testing {

struct HandDrawnNetwork {
  int64_t gpus_per_node = 8;
  double nvlink_Bps = 400e9;       // per GPU port and direction
  double nic_Bps = 50e9;           // per NIC and direction (400 Gb/s)
  double nvlink_latency_s = 1e-6;  // GPU to GPU through the NVSwitch
  double nic_latency_s = 5e-6;     // GPU to GPU across nodes

  std::string gpu(int64_t rank) const {
    return "n" + std::to_string(rank / gpus_per_node) + "g" + std::to_string(rank % gpus_per_node);
  }
  std::string crossbar(int64_t rank) const { return "n" + std::to_string(rank / gpus_per_node) + "-xbar"; }

  RouteOf routes() const {
    return [*this](int64_t from, int64_t to) {
      if (from == to) return Route{};
      if (from / gpus_per_node == to / gpus_per_node)
        return Route{{{gpu(from) + "-nvlink_UP", nvlink_Bps},
                      {crossbar(from), static_cast<double>(gpus_per_node) * nvlink_Bps},
                      {gpu(to) + "-nvlink_DOWN", nvlink_Bps}},
                     nvlink_latency_s};
      return Route{{{gpu(from) + "-nic_UP", nic_Bps}, {gpu(to) + "-nic_DOWN", nic_Bps}}, nic_latency_s};
    };
  }
};

}  // namespace zerosim::testing
