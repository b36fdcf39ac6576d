#include "workloads/yaml_read.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "workloads/closest_name.h"
#include "workloads/config_error.h"
#include "workloads/text_encoding.h"

namespace zerosim {

namespace {
// Offset of the first byte YAML cannot hold, or npos: invalid UTF-8 (text_encoding.h; config values end up
// in JSON output, whose writer throws on it, so rejecting the bytes here names the file and line instead),
// or a C0 control other than tab, LF and CR, or DEL — YAML's character set (c-printable) has none, and
// yaml-cpp turns a NUL inside a scalar into bytes that are not UTF-8.
size_t invalid_utf8_at(const std::string& text) {
  size_t bad = invalid_utf8_offset(text).value_or(std::string::npos);
  for (size_t i = 0; i < std::min(bad, text.size()); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
  }
  return bad;
}
}  // namespace

YAML::Node parse_yaml_text(const std::string& text, const std::string& origin) {
  if (const size_t bad = invalid_utf8_at(text); bad != std::string::npos)
    throw ConfigError(
        origin, "",
        "not YAML/JSON text: a control character or invalid UTF-8 byte at line " +
            std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n')));
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin, "",
                      "syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                          std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path, "", "cannot read " + what + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", "cannot read " + what + " (missing or unreadable)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

YAML::Node parse_yaml_file(const std::string& path, const std::string& what) {
  return parse_yaml_text(read_text_file(path, what), path);
}

std::string line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}

namespace {
std::string shown(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}
}  // namespace

int64_t read_int(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (node.IsScalar()) {
    int64_t v = 0;
    if (YAML::convert<int64_t>::decode(node, v)) return v;
    // DeepSpeed and HF configs write sizes as 5e8; accept floats that are whole numbers.
    double d = 0;
    if (YAML::convert<double>::decode(node, d) && std::isfinite(d) && d == std::floor(d) &&
        std::fabs(d) < 9.0e18)
      return static_cast<int64_t>(d);
  }
  throw ConfigError(file, key, "expected an integer, got " + shown(node) + line_of(node));
}

double read_double(const YAML::Node& node, const std::string& file, const std::string& key) {
  double d = 0;
  if (node.IsScalar() && YAML::convert<double>::decode(node, d) && std::isfinite(d)) return d;
  throw ConfigError(file, key, "expected a number, got " + shown(node) + line_of(node));
}

bool read_bool(const YAML::Node& node, const std::string& file, const std::string& key) {
  bool b = false;
  if (node.IsScalar() && YAML::convert<bool>::decode(node, b)) return b;
  throw ConfigError(file, key, "expected true or false, got " + shown(node) + line_of(node));
}

std::string read_string(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (node.IsScalar()) return node.Scalar();
  throw ConfigError(file, key, "expected a string, got " + shown(node) + line_of(node));
}

std::vector<std::string> read_string_list(const YAML::Node& node, const std::string& file,
                                          const std::string& key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {  // "q_proj,v_proj" or "all-linear"
    std::stringstream ss(node.Scalar());
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto b = item.find_first_not_of(" \t");
      const auto e = item.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    }
    return out;
  }
  if (!node.IsSequence())
    throw ConfigError(file, key, "expected a list of strings, got " + shown(node) + line_of(node));
  for (const auto& item : node) out.push_back(read_string(item, file, key));
  return out;
}

int64_t read_int_in(const YAML::Node& node, const std::string& file, const std::string& key, int64_t lo,
                    int64_t hi) {
  const int64_t v = read_int(node, file, key);
  if (v < lo || v > hi)
    throw ConfigError(file, key,
                      std::to_string(v) + " is out of range (allowed: " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ")" + line_of(node));
  return v;
}

bool present(const YAML::Node& node) { return node && !node.IsNull(); }

void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& file,
                const std::string& prefix) {
  if (!map.IsMap()) throw ConfigError(file, prefix, "expected a mapping of keys" + line_of(map));
  for (const auto& kv : map) {
    const std::string k = kv.first.Scalar();
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == k;
    if (!ok)
      throw ConfigError(
          file, prefix.empty() ? k : prefix + "." + k,
          "unknown key" + line_of(kv.first) + did_you_mean(k, allowed) + " (allowed: " + join(allowed) + ")");
  }
}

std::string read_one_of(const YAML::Node& node, const std::string& file, const std::string& key,
                        const std::vector<std::string>& allowed) {
  std::string v = read_string(node, file, key);
  for (const auto& a : allowed)
    if (a == v) return v;
  throw ConfigError(file, key,
                    "'" + v + "' is not allowed" + line_of(node) + " (allowed: " + join(allowed) + ")");
}

}  // namespace zerosim
