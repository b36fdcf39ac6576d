#include "run_command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace zerosim::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_command(const std::string& command_line) {
  char err_template[] = "/tmp/zerosim-test-XXXXXX";
  const int fd = mkstemp(err_template);
  if (fd >= 0) close(fd);
  const std::string err_path = err_template;
  CommandResult r;
  FILE* pipe = popen((command_line + " 2>" + err_path).c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_file(err_path);
  std::remove(err_path.c_str());
  return r;
}

std::string source_path(const std::string& relative) {
  return std::string(ZEROSIM_SOURCE_DIR) + "/" + relative;
}

CommandResult run_zerosim(const std::string& args) {
  return run_command(std::string("cd ") + ZEROSIM_SOURCE_DIR + " && " + ZEROSIM_BINARY + " " + args);
}

}  // namespace zerosim::testing
