#include "workloads/config_error.h"

namespace zerosim {

std::string config_error_text(const std::string& file, const std::string& key, const std::string& message) {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (!key.empty()) out += ": key '" + key + "'";
  return out + ": " + message;
}

ConfigError::ConfigError(std::string file, std::string key, std::string message)
    : Error(config_error_text(file, key, message)),
      file_(std::move(file)),
      key_(std::move(key)),
      message_(std::move(message)) {}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace zerosim
