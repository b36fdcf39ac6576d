#pragma once
// Typed reads from yaml-cpp nodes that fail with a ConfigError naming file, key and line.
// Used for run configs and for the JSON files users download (config.json, ds_config.json,
// adapter_config.json): yaml-cpp parses JSON, so there is one parser for both.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace zerosim {

// Whole file as text; ConfigError naming the file when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what = "file");

// Parses a whole file (or text) and turns yaml-cpp's exceptions into ConfigError with the line.
YAML::Node parse_yaml_file(const std::string& path, const std::string& what = "file");
YAML::Node parse_yaml_text(const std::string& text, const std::string& origin);

// "(line 12)" for a node that came from a file; "" for nodes built in memory.
std::string line_of(const YAML::Node& node);

// The key is there and not null (`key: ~` and a missing key both mean "use the default").
bool present(const YAML::Node& node);

int64_t read_int(const YAML::Node& node, const std::string& file, const std::string& key);
double read_double(const YAML::Node& node, const std::string& file, const std::string& key);
bool read_bool(const YAML::Node& node, const std::string& file, const std::string& key);
std::string read_string(const YAML::Node& node, const std::string& file, const std::string& key);
std::vector<std::string> read_string_list(const YAML::Node& node, const std::string& file,
                                          const std::string& key);

// A string that must be one of `allowed`; the error names the value, the line and the allowed values.
std::string read_one_of(const YAML::Node& node, const std::string& file, const std::string& key,
                        const std::vector<std::string>& allowed);

// Integer with a lower and upper bound, error naming the allowed range.
int64_t read_int_in(const YAML::Node& node, const std::string& file, const std::string& key, int64_t lo,
                    int64_t hi);

// Rejects keys of `map` that are not in `allowed` (prefix is the dotted path of the map).
void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& file,
                const std::string& prefix);

}  // namespace zerosim
