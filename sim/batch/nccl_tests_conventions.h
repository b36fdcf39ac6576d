#pragma once
// nccl-tests' conventions, so that `zerosim collective` reads and prints what users of nccl-tests
// expect: message sizes written 1K, 64M, 8G, and the bus bandwidth that makes collectives comparable.
#include <cstdint>
#include <string>

#include "workloads/step_graph.h"

namespace zerosim {

// nccl-tests' size syntax: 1K, 64M, 8G, 1T (powers of 1024), or plain bytes. Throws ConfigError naming
// `flag` (-b, -e) for anything else, for sizes <= 0 and above 1 PB.
int64_t parse_size(const std::string& text, const std::string& flag);

// nccl-tests' busbw / algbw for `kind` on `ranks` GPUs: the share of the data each rank's links carry,
// so that a collective running at the links' speed shows that speed whatever the rank count.
double bus_factor(CollectiveKind kind, int64_t ranks);

}  // namespace zerosim
