#include "sim/batch/platform_engine_options.h"

namespace zerosim {

EngineOptions platform_engine_options(const PreparedPlatform& platform, const Version& nccl) {
  EngineOptions eo;
  eo.platform_file = platform.file();
  eo.generate_platform = platform.generator();
  eo.rank_hosts = platform.rank_hosts();
  eo.gpus_per_node = platform.gpus_per_node();
  eo.nvls = platform.nvls();
  if (platform.net_efficiency() > 0) eo.comm.net_efficiency = platform.net_efficiency();
  eo.comm.collnet_enabled = platform.collnet();
  eo.comm.nics_per_node = platform.nics_per_node();
  apply_nccl_release(eo.comm, nccl);
  return eo;
}

}  // namespace zerosim
