#include "sim/batch/worker_error.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

namespace zerosim {

std::string worker_errors_setting() { return std::string(kWorkerErrorsEnv) + "=json"; }

bool reporting_errors_to_parent() {
  const char* v = std::getenv(kWorkerErrorsEnv);
  return v && std::string(v) == "json";
}

std::string worker_error_json(const ConfigError& e) {
  return nlohmann::json{{"file", e.file()}, {"key", e.key()}, {"message", e.message()}}.dump() + "\n";
}

std::optional<ConfigError> read_worker_error(const std::string& stderr_text) {
  // The error is the child's last line; warnings it printed before are not part of it.
  const size_t end = stderr_text.find_last_not_of('\n');
  if (end == std::string::npos) return std::nullopt;
  const size_t begin = stderr_text.rfind('\n', end);
  const size_t start = begin == std::string::npos ? 0 : begin + 1;
  const std::string last_line = stderr_text.substr(start, end + 1 - start);
  const nlohmann::json j = nlohmann::json::parse(last_line, nullptr, false);
  if (!j.is_object() || !j.contains("file") || !j.contains("key") || !j.contains("message"))
    return std::nullopt;
  if (!j["file"].is_string() || !j["key"].is_string() || !j["message"].is_string()) return std::nullopt;
  return ConfigError(j["file"].get<std::string>(), j["key"].get<std::string>(),
                     j["message"].get<std::string>());
}

}  // namespace zerosim
