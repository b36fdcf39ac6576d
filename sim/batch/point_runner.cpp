#include "sim/batch/point_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sim/batch/child_process.h"
#include "sim/batch/scratch_dir.h"

namespace zerosim {

namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SIGINT, SIGTERM and SIGCHLD are blocked while the pool runs and taken with sigtimedwait: no handler
// races with waitpid, and a signal that arrives while a row is being written waits its turn.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGCHLD}) sigaddset(&set_, s);
    // SIGCHLD's default disposition is "ignore"; a no-op handler makes sure it stays pending.
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, &old_chld_);
    pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  }
  ~BlockedSignals() {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGCHLD, &old_chld_, nullptr);
  }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& set() const { return set_; }
  const sigset_t& old_mask() const { return old_mask_; }

 private:
  sigset_t set_{};
  sigset_t old_mask_{};
  struct sigaction old_chld_ {};
};

struct Worker {
  pid_t pid = -1;
  size_t id = 0;
  Clock::time_point start;
};

// The running workers. Whatever way run_points leaves (return, exception), none is left behind.
class Workers {
 public:
  explicit Workers(const ScratchDir& dir) : dir_(dir) {}
  ~Workers() { kill_all(); }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  size_t size() const { return running_.size(); }

  void launch(const PointJob& job, const PointRunnerOptions& o, const sigset_t& child_mask) {
    const std::string config = dir_.file(job.id, ".yaml");
    {
      std::ofstream f(config, std::ios::binary);
      f << job.config_yaml;
      if (!f.flush()) throw std::runtime_error("cannot write " + config);
    }
    const int out_fd =
        open(dir_.file(job.id, ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int err_fd =
        open(dir_.file(job.id, ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open worker output files");

    ChildSpec spec;
    spec.argv = {o.executable};
    spec.argv.insert(spec.argv.end(), o.command.begin(), o.command.end());
    spec.argv.insert(spec.argv.end(), {"--config", config});
    spec.env = o.environment;
    spec.stdin_fd = null_fd;
    spec.stdout_fd = out_fd;
    spec.stderr_fd = err_fd;
    spec.signal_mask = &child_mask;
    spec.die_with_parent = true;  // a SIGKILLed sweep takes its workers with it
    spec.exec_failure_note = "zerosim: cannot execute the worker binary\n";
    if (o.executable == "/proc/self/exe") spec.in_process = self_entry();
    const pid_t pid = spawn_child(spec);
    const int fork_errno = errno;
    close(out_fd);
    close(err_fd);
    close(null_fd);
    if (pid < 0) throw std::runtime_error(std::string("cannot start a worker: ") + std::strerror(fork_errno));
    running_.push_back({pid, job.id, Clock::now()});
  }

  // Reaps the workers that have ended; returns their outcomes.
  std::vector<PointOutcome> reap() {
    std::vector<PointOutcome> done;
    for (size_t i = 0; i < running_.size();) {
      int status = 0;
      const pid_t r = waitpid(running_[i].pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++i;
        continue;
      }
      done.push_back(collect(running_[i], r < 0 ? -1 : status));
      running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return done;
  }

  void kill_all() {
    for (const auto& w : running_) kill(w.pid, SIGKILL);
    for (const auto& w : running_) {
      while (waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      remove_files(w.id);
    }
    running_.clear();
  }

 private:
  PointOutcome collect(const Worker& w, int status) {
    PointOutcome o;
    o.id = w.id;
    o.wall_s = std::chrono::duration<double>(Clock::now() - w.start).count();
    o.out = slurp(dir_.file(w.id, ".out"));
    o.err = slurp(dir_.file(w.id, ".err"));
    if (status < 0) {
      o.exit_code = -1;
      o.err += "worker lost: waitpid failed\n";
    } else {
      o.exit_code = exit_code_of(status);
      if (WIFSIGNALED(status))
        o.err += std::string("worker killed by signal ") + strsignal(WTERMSIG(status)) + "\n";
    }
    remove_files(w.id);
    return o;
  }

  void remove_files(size_t id) const {
    for (const char* ext : {".yaml", ".out", ".err"}) std::remove(dir_.file(id, ext).c_str());
  }

  const ScratchDir& dir_;
  std::vector<Worker> running_;
};

}  // namespace

size_t available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<size_t>(CPU_COUNT(&set));
  const unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

RunStatus run_points(const std::vector<PointJob>& jobs, const PointRunnerOptions& options,
                     const std::function<void(const PointOutcome&)>& on_done) {
  const size_t max_workers = options.jobs ? options.jobs : available_cpus();
  RunStatus status;
  const BlockedSignals signals;
  const ScratchDir dir;
  Workers workers(dir);
  size_t next = 0;
  while (next < jobs.size() || workers.size() > 0) {
    while (workers.size() < max_workers && next < jobs.size())
      workers.launch(jobs[next++], options, signals.old_mask());
    bool reaped = false;
    for (const PointOutcome& o : workers.reap()) {
      reaped = true;
      ++status.finished;
      on_done(o);
    }
    if (reaped) continue;
    // Sleep until a worker ends or someone asks us to stop; the timeout only guards against a
    // SIGCHLD that was merged with an earlier one.
    siginfo_t info{};
    const timespec timeout{1, 0};
    const int sig = sigtimedwait(&signals.set(), &info, &timeout);
    if (sig == SIGINT || sig == SIGTERM) {
      workers.kill_all();
      status.interrupted = true;
      status.signal = sig;
      return status;
    }
  }
  return status;
}

}  // namespace zerosim
