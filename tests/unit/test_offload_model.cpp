// The engine's CPU-offload rates (sim/engine/offload_model.h) against hand-worked numbers.
#include <catch2/catch.hpp>

#include "sim/engine/offload_model.h"

using zerosim::OffloadModel;

TEST_CASE("the CPU step is the slower of the cores' share and the memory bandwidth's", "[offload]") {
  OffloadModel om;
  om.cpu_adam_elements_per_s_per_core = 5e7;
  om.mem_bw_bytes_s = 280e9;  // 2 sockets x 140 GB/s
  om.cores = 128;
  om.ranks_per_node = 4;
  om.cpu_threads_per_rank = 128;  // the DeepSpeed launcher: every core, shared
  // Cores: min(128, 128/4) = 32 per rank -> 1.6e9 elements/s; 1.6e9 elements take 1.0 s.
  // Memory: 4 ranks x 1.6e9 x 42 B = 268.8 GB at 280 GB/s = 0.96 s. The cores are the slower.
  CHECK(om.cpu_step_seconds(1'600'000'000, 42 * int64_t{1'600'000'000}) == Approx(1.0));
  // At 56 B per element the memory is: 4 x 1.6e9 x 56 / 280e9 = 1.28 s.
  CHECK(om.cpu_step_seconds(1'600'000'000, 56 * int64_t{1'600'000'000}) == Approx(1.28));
  // One thread per rank (torchrun): 1.6e9 / 5e7 = 32 s.
  om.cpu_threads_per_rank = 1;
  CHECK(om.cpu_step_seconds(1'600'000'000, 42 * int64_t{1'600'000'000}) == Approx(32.0));
}

TEST_CASE("copies run at the pinned fraction of the link, half that from pageable memory", "[offload]") {
  OffloadModel om;
  om.pcie_bytes_s = 31.5e9;  // Gen4 x16
  // 25.2 GB at 0.80 x 31.5 GB/s = 1.0 s pinned; 2.0 s pageable.
  CHECK(om.copy_seconds(25'200'000'000, true) == Approx(1.0));
  CHECK(om.copy_seconds(25'200'000'000, false) == Approx(2.0));
  CHECK(om.wire_bytes(800, true) == Approx(1000.0));
}
