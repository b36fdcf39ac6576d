#pragma once
// What a prepared platform and the NCCL release decide of the engine's options, the same for `simulate`
// (and every batch point) and `collective`: where the platform comes from (a file, or a generated cluster
// built in memory), which host is which rank, GPUs per node, NVLS, the network's efficiency, CollNet, and
// what the release can run. The callers add their own: the algorithm and where it was forced, channels,
// contention, trace, offload.
#include "sim/engine/engine.h"
#include "sim/platform/platform_setup.h"
#include "workloads/framework_versions.h"

namespace zerosim {

EngineOptions platform_engine_options(const PreparedPlatform& platform, const Version& nccl);

}  // namespace zerosim
