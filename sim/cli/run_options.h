#pragma once
// --config RUN.yaml and repeated --set key=value, shared by memory, simulate and recommend.
#include <string>
#include <vector>

#include "workloads/run_config.h"

namespace CLI {
class App;
}

namespace zerosim {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> sets;
  RunConfig load() const;
};

void add_run_options(CLI::App& cmd, RunOptions& options);

}  // namespace zerosim
