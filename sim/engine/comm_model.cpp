#include "sim/engine/comm_model.h"

namespace zerosim {

NcclAlgorithm nccl_algorithm(const std::string& name) {
  if (name == "ring") return NcclAlgorithm::ring;
  if (name == "tree") return NcclAlgorithm::tree;
  if (name == "nvls") return NcclAlgorithm::nvls;
  return NcclAlgorithm::automatic;
}

const char* nccl_algorithm_name(NcclAlgorithm algorithm) {
  switch (algorithm) {
    case NcclAlgorithm::ring:
      return "ring";
    case NcclAlgorithm::tree:
      return "tree";
    case NcclAlgorithm::nvls:
      return "nvls";
    case NcclAlgorithm::automatic:
      break;
  }
  return "";
}

}  // namespace zerosim
