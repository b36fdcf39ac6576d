#include "workloads/config_error.h"

namespace zerosim {
namespace {
std::string format(const std::string& file, const std::string& key, const std::string& message) {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (!key.empty()) out += ": key '" + key + "'";
  return out + ": " + message;
}
}  // namespace

ConfigError::ConfigError(std::string file, std::string key, const std::string& message)
    : std::runtime_error(format(file, key, message)), file_(std::move(file)), key_(std::move(key)) {}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace zerosim
