#pragma once
// The one error type for bad user input. Caught at the command boundary and turned
// into exit code 2 with a message naming the file, the key and the allowed values.
#include <stdexcept>
#include <string>
#include <vector>

namespace zerosim {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string key, const std::string& message);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_;
  std::string key_;
};

// "a, b, c" for messages listing allowed values.
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace zerosim
