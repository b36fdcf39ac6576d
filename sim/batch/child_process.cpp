#include "sim/batch/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

extern char** environ;

namespace zerosim {

namespace {

SelfEntry registered_entry = nullptr;

// Writes out what the C++ streams and stdio hold, before a fork (so the child does not write it again) and
// before a forked child's _exit (which skips the flushing exit would do).
void flush_output() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

// This process's environment with `extra` ("NAME=value") replacing or adding entries.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || name_of(x) == name_of(entry);
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& texts) {
  std::vector<char*> out;
  out.reserve(texts.size() + 1);
  for (auto& t : texts) out.push_back(t.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until exec (or, in a single-threaded parent's
// child, until the command runs in place).
[[noreturn]] void become_child(const ChildSpec& s, pid_t parent, char* const* argv, char* const* envp,
                               const std::vector<std::string>& extra_env, bool in_process) {
  if (s.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  }
  if (s.stdin_fd >= 0) dup2(s.stdin_fd, STDIN_FILENO);
  if (s.stdout_fd >= 0) dup2(s.stdout_fd, STDOUT_FILENO);
  if (s.stderr_fd >= 0) dup2(s.stderr_fd, STDERR_FILENO);
  if (s.signal_mask) pthread_sigmask(SIG_SETMASK, s.signal_mask, nullptr);
  if (!s.cwd.empty() && chdir(s.cwd.c_str()) != 0) _exit(127);
  if (in_process) {
    // What exec would have reset: caught signals go back to their defaults (the parent's SIGCHLD
    // handler included; ignored ones stay ignored), and the environment gets the spec's additions.
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction old {};
      if (sigaction(sig, nullptr, &old) == 0 && (old.sa_flags & SA_SIGINFO || old.sa_handler != SIG_IGN))
        signal(sig, SIG_DFL);
    }
    for (const auto& entry : extra_env) putenv(const_cast<char*>(entry.c_str()));
    int argc = 0;
    while (argv[argc]) ++argc;
    int code = 1;
    try {
      code = s.in_process(argc, const_cast<char**>(argv));
    } catch (...) {
    }
    flush_output();
    _exit(code);  // no atexit handlers or static destructors: the parent's state is not the child's
  }
  execve(argv[0], argv, envp);
  if (!s.exec_failure_note.empty()) {
    [[maybe_unused]] const ssize_t w =
        write(STDERR_FILENO, s.exec_failure_note.data(), s.exec_failure_note.size());
  }
  _exit(127);
}

// Reads both pipes to their end (a child blocked on a full stderr pipe would never exit).
void drain(int out_fd, int err_fd, ChildResult& r) {
  std::array<pollfd, 2> fds = {pollfd{out_fd, POLLIN, 0}, pollfd{err_fd, POLLIN, 0}};
  std::array<std::string*, 2> sinks = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
}

}  // namespace

void set_self_entry(SelfEntry entry) { registered_entry = entry; }

SelfEntry self_entry() { return registered_entry; }

bool single_threaded() {
  std::error_code ec;
  size_t threads = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++threads;
  return !ec && threads == 1;
}

pid_t spawn_child(const ChildSpec& spec) {
  // argv and the environment are built before fork: the child only makes async-signal-safe calls.
  std::vector<std::string> argv_text = spec.argv;
  std::vector<std::string> env_text = child_environment(spec.env);
  const std::vector<char*> argv = pointers(argv_text);
  const std::vector<char*> envp = pointers(env_text);
  const bool in_process = spec.in_process != nullptr && single_threaded();
  if (in_process) flush_output();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) become_child(spec, parent, argv.data(), envp.data(), spec.env, in_process);
  return pid;
}

int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::string self_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

ChildResult run_child(const std::string& program, const std::vector<std::string>& args,
                      const std::string& cwd, const std::vector<std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]), close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  ChildSpec spec;
  spec.argv = {program};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = cwd;
  spec.env = env;
  spec.stdout_fd = out_pipe[1];
  spec.stderr_fd = err_pipe[1];
  const pid_t pid = spawn_child(spec);
  const int fork_errno = errno;
  close(out_pipe[1]), close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]), close(err_pipe[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  }
  ChildResult r;
  drain(out_pipe[0], err_pipe[0], r);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = exit_code_of(status);
  if (r.exit_code == 127 && r.out.empty() && r.err.empty())
    throw std::runtime_error("cannot run " + program + (cwd.empty() ? "" : " in " + cwd));
  return r;
}

}  // namespace zerosim
