#pragma once
// --config RUN.yaml and repeated --set key=value, shared by memory and simulate.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace zerosim {

void add_run_options(CLI::App& cmd, std::string& config_path, std::vector<std::string>& sets);

}  // namespace zerosim
