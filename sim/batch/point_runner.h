#pragma once
// Runs many simulation points, each in its own worker process. SimGrid allows one engine per
// process (docs/architecture.md, "Working with SimGrid 3.32"), so a sweep or a recommendation cannot simulate
// two points in one process: the pool fork+execs this same binary (`/proc/self/exe simulate --config
// POINT.yaml --format json`), at most `jobs` at once, and hands each finished point to a callback so results
// can be written to disk as they arrive. Used by `zerosim sweep` and `zerosim recommend`.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace zerosim {

struct PointJob {
  size_t id = 0;            // caller's identifier, echoed in the outcome
  std::string config_yaml;  // a complete run config; relative paths in it resolve from the current directory
};

struct PointOutcome {
  size_t id = 0;
  int exit_code = 0;  // the worker's exit code; 128 + signal when a signal ended it
  std::string out;    // its stdout (the simulate JSON when exit_code == 0)
  std::string err;    // its stderr
  double wall_s = 0;  // how long the worker ran
};

struct PointRunnerOptions {
  size_t jobs = 0;  // workers at once; 0 = the CPUs this process may run on
  std::string executable = "/proc/self/exe";
  std::vector<std::string> command = {"simulate", "--format", "json"};  // `--config FILE` is appended
  std::vector<std::string> environment;  // "NAME=value" added to each worker's environment
};

// Why run_points returned.
struct RunStatus {
  bool interrupted = false;  // SIGINT or SIGTERM arrived: no new worker started, running ones killed
  int signal = 0;            // which one
  size_t finished = 0;       // outcomes delivered to the callback
};

// Runs every job and calls on_done (in this thread, one at a time) as each worker ends, in completion
// order. On SIGINT/SIGTERM it stops launching, kills and reaps the running workers, does not report
// them, and returns with interrupted = true; the caller decides how to exit. Workers die with this
// process even if it is SIGKILLed (PR_SET_PDEATHSIG). Throws std::runtime_error when a worker
// cannot be started at all.
RunStatus run_points(const std::vector<PointJob>& jobs, const PointRunnerOptions& options,
                     const std::function<void(const PointOutcome&)>& on_done);

// CPUs this process may run on (sched_getaffinity: honours taskset and SLURM's --cpus-per-task).
size_t available_cpus();

}  // namespace zerosim
