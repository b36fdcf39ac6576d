#pragma once
// Runs a command line (through /bin/sh) and captures what integration tests check.
#include <string>

namespace zerosim::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

CommandResult run_command(const std::string& command_line);
// `zerosim <args>` from the build tree, run in the source tree so relative paths resolve.
CommandResult run_zerosim(const std::string& args);
std::string source_path(const std::string& relative);
std::string read_file(const std::string& path);  // whole file, "" if unreadable

}  // namespace zerosim::testing
