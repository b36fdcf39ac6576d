#include "sim/batch/scratch_dir.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace zerosim {

namespace {
const std::string kPrefix = "zerosim-points-";

bool owner_is_gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

bool owned_by_me(const std::filesystem::path& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid();
}
}  // namespace

std::string scratch_parent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

std::optional<pid_t> scratch_owner(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const size_t begin = kPrefix.size(), dash = name.find('-', begin);
  // The pid, a dash and mkdtemp's six characters.
  if (dash == std::string::npos || dash == begin || dash - begin > 9 || name.size() != dash + 7)
    return std::nullopt;
  pid_t pid = 0;
  for (size_t i = begin; i < dash; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    pid = pid * 10 + (name[i] - '0');
  }
  return pid > 0 ? std::optional<pid_t>(pid) : std::nullopt;
}

size_t remove_stale_scratch_dirs(const std::string& parent) {
  namespace fs = std::filesystem;
  std::error_code ec;
  size_t removed = 0;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const auto owner = scratch_owner(it->path().filename().string());
    if (!owner || !owner_is_gone(*owner) || !owned_by_me(it->path())) continue;
    std::error_code rm;
    if (fs::remove_all(it->path(), rm) > 0 && !rm) ++removed;
  }
  return removed;
}

ScratchDir::ScratchDir() {
  const std::string parent = scratch_parent();
  remove_stale_scratch_dirs(parent);
  std::string tmpl = parent + "/" + kPrefix + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a scratch directory: " + tmpl);
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace zerosim
