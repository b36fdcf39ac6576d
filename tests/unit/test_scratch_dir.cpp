// The worker pool's scratch folders: named after their owner's pid, removed when the pool ends, and
// removed by the next pool when their owner died without cleaning up (a SIGKILLed sweep).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "sim/batch/scratch_dir.h"
#include "test_support.h"

using namespace zerosim;
using zerosim::testing::TempDir;

namespace {

// A pid no process can have: Linux hands out pids below /proc/sys/kernel/pid_max.
pid_t pid_nobody_has() {
  long pid_max = 4194304;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  return static_cast<pid_t>(pid_max);
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace

TEST_CASE("a scratch folder's name gives its owner's pid", "[sweep][runner]") {
  CHECK(scratch_owner("zerosim-points-1234-Ab3xYz") == pid_t{1234});
  CHECK_FALSE(scratch_owner("zerosim-points-Ab3xYz"));             // earlier versions: no pid, left alone
  CHECK_FALSE(scratch_owner("zerosim-points-12x4-Ab3xYz"));        // not a number
  CHECK_FALSE(scratch_owner("zerosim-points-1234-Ab3xY"));         // mkdtemp writes six characters
  CHECK_FALSE(scratch_owner("zerosim-points-0-Ab3xYz"));           // no process has pid 0
  CHECK_FALSE(scratch_owner("zerosim-points-1234567890-abcdef"));  // longer than any pid
  CHECK_FALSE(scratch_owner("other-1234-Ab3xYz"));
}

TEST_CASE("stale scratch folders (owner gone) are removed; live owners' and others' are kept",
          "[sweep][runner]") {
  const TempDir dir;
  const std::string dead =
      dir.write("zerosim-points-" + std::to_string(pid_nobody_has()) + "-abcdef/point-1.yaml", "x");
  const std::string live =
      dir.write("zerosim-points-" + std::to_string(getpid()) + "-abcdef/point-1.yaml", "x");
  const std::string legacy = dir.write("zerosim-points-abcdef/point-1.yaml", "x");
  CHECK(remove_stale_scratch_dirs(dir.path("")) == 1);
  CHECK_FALSE(exists(std::filesystem::path(dead).parent_path()));
  CHECK(exists(live));
  CHECK(exists(legacy));
}

TEST_CASE("a scratch folder carries this process's pid and is gone after use", "[sweep][runner]") {
  const TempDir dir;
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", dir.path("").c_str(), 1);
  const std::string stale = dir.path("zerosim-points-" + std::to_string(pid_nobody_has()) + "-zzzzzz");
  std::filesystem::create_directory(stale);
  std::string path;
  {
    const ScratchDir scratch;
    path = scratch.path();
    CHECK(scratch_owner(std::filesystem::path(path).filename()) == getpid());
    CHECK(exists(path));
    CHECK_FALSE(exists(stale));  // creating one cleans up after dead owners first
  }
  CHECK_FALSE(exists(path));
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
}
