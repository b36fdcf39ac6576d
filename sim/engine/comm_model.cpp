#include "sim/engine/comm_model.h"

namespace zerosim {

NcclAlgorithm nccl_algorithm(const std::string& name) {
  if (name == "ring") return NcclAlgorithm::ring;
  if (name == "tree") return NcclAlgorithm::tree;
  if (name == "nvls") return NcclAlgorithm::nvls;
  if (name == "nvlstree") return NcclAlgorithm::nvls_tree;
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
    case NcclAlgorithm::nvls_tree:
      return "nvlstree";
    case NcclAlgorithm::automatic:
      break;
  }
  return "";
}

int64_t nccl_collective_ctas(const std::string& intra) {
  if (intra == "nvswitch") return 24;  // an H100 ncclAllGather's 24 blocks in nsys (NVIDIA forum t/337991)
  if (intra == "nvlink-bridge") return 4;  // [est]
  return 2;                                // pcie [est]: NCCL's PCIe-only rings log "2 coll channels"
}

}  // namespace zerosim
