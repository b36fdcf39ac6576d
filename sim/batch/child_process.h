#pragma once
// Runs this same zerosim binary as a child process and captures its output. SimGrid allows one
// engine per process, so every simulated point of `zerosim validate` runs in its own child.
#include <string>
#include <vector>

namespace zerosim {

struct ChildResult {
  int exit_code = -1;  // 128 + signal number when the child was killed
  std::string out;     // stdout
  std::string err;     // stderr
};

// The absolute path of the running executable (/proc/self/exe).
std::string self_executable();

// Runs `program args...` in directory `cwd` (empty: the current one), waits, returns what it printed.
// Throws std::runtime_error when the process cannot be started.
ChildResult run_child(const std::string& program, const std::vector<std::string>& args, const std::string& cwd = "");

}  // namespace zerosim
