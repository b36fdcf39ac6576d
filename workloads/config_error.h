#pragma once
// Bad user input: the file (or the flag, e.g. "--set"), the key and what is wrong with it, kept as
// fields so callers can re-attribute or re-serialise an error without reading its text. Caught at the
// command boundary and turned into exit code 2 with config_error_text's "file: key 'k': message".
#include <string>
#include <vector>

#include "workloads/error.h"

namespace zerosim {

class ConfigError : public Error {
 public:
  ConfigError(std::string file, std::string key, std::string message);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  std::string key_;
  std::string message_;
};

// The one wording of a ConfigError, which what() returns: "file: key 'k': message" ("<config>" for
// no file, no key part for no key).
std::string config_error_text(const std::string& file, const std::string& key, const std::string& message);

// "a, b, c" for messages listing allowed values.
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace zerosim
