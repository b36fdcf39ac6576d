#include "sim/engine/comm_model.h"

namespace zerosim {

NcclAlgorithm nccl_algorithm(const std::string& name) {
  if (name == "ring") return NcclAlgorithm::ring;
  if (name == "tree") return NcclAlgorithm::tree;
  if (name == "nvls") return NcclAlgorithm::nvls;
  if (name == "nvlstree") return NcclAlgorithm::nvls_tree;
  if (name == "collnet") return NcclAlgorithm::collnet;
  if (name == "pat") return NcclAlgorithm::pat;
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
    case NcclAlgorithm::collnet:
      return "collnet";
    case NcclAlgorithm::pat:
      return "pat";
    case NcclAlgorithm::automatic:
      break;
  }
  return "";
}

void apply_nccl_release(CommModel& cm, const Version& release) {
  cm.nvls_available = release >= Version{2, 17, 1};       // NVLS arrived in 2.17.1
  cm.nvls_tree_available = release >= Version{2, 18, 1};  // NVLS_TREE in 2.18.1's enqueue.cc
  cm.forced_fallback = release >= Version{2, 19, 3} && release < Version{2, 24, 3};  // backupAlgo's years
  cm.nvls_min_gpus = release >= Version{2, 28, 7} ? 2 : 3;                           // nvls.cc gpuCount test
  cm.nvls_tree_chunk_from_nvls_chunksize = release >= Version{2, 21, 0};  // NvlsTreeMaxChunkSize (2.21.5)
  cm.pat_available = release >= Version{2, 23, 4};                        // ncclPatEnable (2.23.4)
  cm.pat_efficiency = release >= Version{2, 24, 0} ? 0.75 : 0.85;         // tuning.cc busBw *= .85 / .75
  cm.nccl_release = release.text();
}

int64_t nccl_collective_ctas(const std::string& intra) {
  if (intra == "nvswitch") return 24;  // an H100 ncclAllGather's 24 blocks in nsys (NVIDIA forum t/337991)
  if (intra == "nvlink-bridge") return 4;  // [est]
  return 2;                                // pcie [est]: NCCL's PCIe-only rings log "2 coll channels"
}

}  // namespace zerosim
