// The worker pool behind sweep and recommend, driven with /bin/sh scripts as workers: outputs and exit
// codes per point, the -j bound, SIGINT, a worker that cannot start, no child left behind, and workers of
// this same binary running its dispatcher after fork without exec.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>

#include "sim/batch/child_process.h"
#include "sim/batch/point_runner.h"
#include "test_support.h"

using namespace zerosim;
using zerosim::testing::TempDir;

namespace {

// The runner appends `--config FILE`; with `sh -c SCRIPT sh`, $1 is --config and $2 the file.
PointRunnerOptions shell(const std::string& script, size_t jobs) {
  PointRunnerOptions o;
  o.jobs = jobs;
  o.executable = "/bin/sh";
  o.command = {"-c", script, "sh"};
  return o;
}

std::vector<PointJob> jobs_with_configs(size_t n) {
  std::vector<PointJob> jobs;
  for (size_t i = 0; i < n; ++i) jobs.push_back({i + 100, std::to_string(i)});
  return jobs;
}

bool no_children_left() { return waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

}  // namespace

TEST_CASE("each point's stdout, stderr and exit code come back under its id", "[sweep][runner]") {
  std::set<size_t> seen;
  const RunStatus st = run_points(jobs_with_configs(6),
                                  shell(R"sh(v=$(cat "$2"); echo "out $v"; echo "err $v" >&2; exit $v)sh", 3),
                                  [&](const PointOutcome& o) {
                                    const std::string v = std::to_string(o.id - 100);
                                    CHECK(o.out == "out " + v + "\n");
                                    CHECK(o.err == "err " + v + "\n");
                                    CHECK(o.exit_code == static_cast<int>(o.id - 100));
                                    CHECK(o.wall_s >= 0);
                                    seen.insert(o.id);
                                  });
  CHECK_FALSE(st.interrupted);
  CHECK(st.finished == 6);
  CHECK(seen == std::set<size_t>{100, 101, 102, 103, 104, 105});
  CHECK(no_children_left());
}

TEST_CASE("never more than -j workers at once", "[sweep][runner]") {
  const TempDir dir;
  // Each worker registers itself, reports how many are registered, holds on a moment, and leaves.
  const std::string script = "d=" + dir.path("") + "; touch $d/w.$$; ls $d | wc -l; sleep 0.15; rm $d/w.$$";
  int most = 0;
  const auto start = std::chrono::steady_clock::now();
  run_points(jobs_with_configs(6), shell(script, 2), [&](const PointOutcome& o) {
    REQUIRE(o.exit_code == 0);
    most = std::max(most, std::stoi(o.out));
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(most >= 1);
  CHECK(most <= 2);
  CHECK(wall >= 3 * 0.15);  // 6 workers of 0.15 s, two at a time
}

TEST_CASE("SIGINT stops the pool: no new worker, running ones killed, not reported", "[sweep][runner]") {
  // One worker at a time; the first asks its parent (this test) to stop, then would run for 30 s.
  size_t reported = 0;
  const auto start = std::chrono::steady_clock::now();
  const RunStatus st = run_points(jobs_with_configs(4), shell("kill -INT $PPID; sleep 30", 1),
                                  [&](const PointOutcome&) { ++reported; });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(st.interrupted);
  CHECK(st.signal == SIGINT);
  CHECK(reported == 0);
  CHECK(wall < 10);
  CHECK(no_children_left());
}

TEST_CASE("a worker that cannot be executed is an outcome, not a crash", "[sweep][runner]") {
  PointRunnerOptions o;
  o.jobs = 2;
  o.executable = "/nonexistent/zerosim";
  std::vector<PointOutcome> out;
  run_points(jobs_with_configs(2), o, [&](const PointOutcome& r) { out.push_back(r); });
  REQUIRE(out.size() == 2);
  for (const auto& r : out) {
    CHECK(r.exit_code == 127);
    CHECK_THAT(r.err, Catch::Contains("cannot execute"));
  }
}

TEST_CASE("when the callback throws, the running workers are killed and reaped", "[sweep][runner]") {
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(run_points(jobs_with_configs(3), shell(R"sh(test "$(cat "$2")" = 0 || sleep 30)sh", 3),
                             [](const PointOutcome&) { throw std::runtime_error("disk full"); }),
                  std::runtime_error);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 10);
  CHECK(no_children_left());
}

TEST_CASE("the pool uses the CPUs this process may run on by default", "[sweep][runner]") {
  CHECK(available_cpus() >= 1);
}

namespace {
// A stand-in for main's dispatcher: prints its arguments, the worker environment's variable and the
// config file's content, and exits with the content as its code.
int echo_entry(int argc, char** argv) {
  std::string args;
  for (int i = 1; i < argc; ++i) args += std::string(argv[i]) + " ";
  const char* env = std::getenv("ZEROSIM_TEST_WORKER");
  std::ifstream config(argv[argc - 1]);
  int code = 0;
  config >> code;
  std::cout << args << "| " << (env ? env : "unset");
  std::cerr << "pid " << getpid();
  return code;
}
}  // namespace

TEST_CASE("workers of this same binary run its dispatcher after fork, without exec", "[sweep][runner]") {
  // Only a single-threaded process may run code other than exec in its forked child.
  REQUIRE(single_threaded());
  set_self_entry(&echo_entry);
  PointRunnerOptions o;  // the default executable: /proc/self/exe, i.e. this same binary
  o.jobs = 2;
  o.environment = {"ZEROSIM_TEST_WORKER=json"};
  std::vector<PointOutcome> out;
  run_points(jobs_with_configs(3), o, [&](const PointOutcome& r) { out.push_back(r); });
  set_self_entry(nullptr);
  REQUIRE(out.size() == 3);
  for (const auto& r : out) {
    // Point i's config holds i: the exit code, and the arguments the runner gives any worker.
    CHECK(r.exit_code == static_cast<int>(r.id - 100));
    CHECK_THAT(r.out, Catch::StartsWith("simulate --format json --config ") && Catch::EndsWith("| json"));
    CHECK_THAT(r.err, Catch::StartsWith("pid "));
  }
  CHECK(std::getenv("ZEROSIM_TEST_WORKER") == nullptr);  // set in the children only
  CHECK(no_children_left());
}
