#pragma once
// The one way zerosim starts a child process (fork + exec). SimGrid allows one engine per process, so
// every simulated point of a sweep, a recommendation or `zerosim validate` runs this same binary as a
// child: point_runner starts many at once writing to files, run_child one at a time through pipes.
#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace zerosim {

// This binary's command line as a function: main's dispatcher, registered by main(). A child that would
// exec this same binary can run it right after fork instead (ChildSpec::in_process), which skips exec and
// the ~50 ms of loading SimGrid's and ns-3's shared libraries that every worker would otherwise pay.
using SelfEntry = int (*)(int argc, char** argv);
void set_self_entry(SelfEntry entry);
SelfEntry self_entry();  // nullptr until main registers one (unit tests)

// Whether this process runs one thread only (/proc/self/task): the condition for running a forked
// child's command without exec (a child of a multi-threaded process may only call async-signal-safe
// functions).
bool single_threaded();

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program (a path: no PATH search)
  std::string cwd;                // where the child starts; empty: this process's directory
  std::vector<std::string> env;   // "NAME=value" set for the child on top of this process's environment
  int stdin_fd = -1;              // descriptors the child gets as 0, 1, 2; -1: this process's own
  int stdout_fd = -1;
  int stderr_fd = -1;
  const sigset_t* signal_mask = nullptr;  // the child's signal mask; nullptr: this thread's
  bool die_with_parent = false;           // SIGKILL the child when this process dies (PR_SET_PDEATHSIG)
  std::string exec_failure_note;          // written to the child's stderr when exec fails (then exit 127)
  // Run argv with this entry in the forked child instead of exec'ing argv[0] (which must be this same
  // binary), where this process is single-threaded; nullptr, or another thread running: exec.
  SelfEntry in_process = nullptr;
};

// Starts the child and returns its pid, or -1 with errno set when fork fails (each caller words that
// its own way). A child that cannot change to cwd or exec the program exits with code 127.
pid_t spawn_child(const ChildSpec& spec);

// A waitpid status as an exit code: the child's own, or 128 + the signal that ended it.
int exit_code_of(int wait_status);

struct ChildResult {
  int exit_code = -1;  // 128 + signal number when the child was killed
  std::string out;     // stdout
  std::string err;     // stderr
};

// The absolute path of the running executable (/proc/self/exe).
std::string self_executable();

// Runs `program args...` in directory `cwd` (empty: the current one) with `env` added to its
// environment, waits, returns what it printed. Throws std::runtime_error when the process cannot be
// started.
ChildResult run_child(const std::string& program, const std::vector<std::string>& args,
                      const std::string& cwd = "", const std::vector<std::string>& env = {});

}  // namespace zerosim
