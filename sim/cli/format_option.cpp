#include "sim/cli/format_option.h"

#include <CLI/CLI.hpp>

namespace zerosim {

CLI::Option* add_format_option(CLI::App& cmd, std::string& target, const std::string& allowed) {
  return cmd.add_option("--format", target, "output format: " + allowed)->capture_default_str();
}

}  // namespace zerosim
