#pragma once
// The private folder where a pool of workers keeps its points' config and output files:
// $TMPDIR/zerosim-points-<owner pid>-XXXXXX, removed when the pool ends. A SIGKILLed sweep cannot
// remove its own, so each new pool first removes the folders whose owner process is gone.
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

namespace zerosim {

class ScratchDir {
 public:
  ScratchDir();  // removes stale folders, then creates this process's own
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(size_t id, const char* ext) const { return path_ + "/point-" + std::to_string(id) + ext; }

 private:
  std::string path_;
};

// The folder that holds scratch folders: $TMPDIR, else /tmp.
std::string scratch_parent();

// The owner pid written in a scratch folder's name ("zerosim-points-1234-Ab3xYz"); nothing for any
// other name, including the pid-less names of earlier versions.
std::optional<pid_t> scratch_owner(const std::string& folder_name);

// Removes the scratch folders in `parent` that belong to this user and whose owner process no longer
// exists (kill(pid, 0) fails with ESRCH). Returns how many it removed; errors are ignored.
size_t remove_stale_scratch_dirs(const std::string& parent);

}  // namespace zerosim
