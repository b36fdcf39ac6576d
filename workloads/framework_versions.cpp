#include "workloads/framework_versions.h"

#include <regex>

#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {

std::string Version::text() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

namespace {

// "0.16", "0.16.4", "v0.16.4", "0.16.4+cu121": release numbers only (a local suffix changes no code path).
Version parse_version(const YAML::Node& n, const std::string& file, const std::string& key) {
  const std::string text = read_string(n, file, key);
  static const std::regex form(R"(v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?(?:[+.-][0-9A-Za-z.+-]*)?)");
  std::smatch m;
  if (!std::regex_match(text, m, form))
    throw ConfigError(file, key, "'" + text + "' is not a release number (e.g. 0.16.4)");
  return {std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0};
}

Version parse_in_range(const YAML::Node& n, const std::string& file, const std::string& key, Version oldest,
                       Version newest) {
  const Version v = parse_version(n, file, key);
  if (v < oldest || v > newest)
    throw ConfigError(file, key,
                      v.text() + " is outside the releases whose code zerosim models (" + oldest.text() +
                          " to " + newest.text() + ")");
  return v;
}

}  // namespace

FrameworkVersions parse_versions(const YAML::Node& node, const std::string& file) {
  FrameworkVersions v;
  if (!present(node)) return v;
  if (!node.IsMap())
    throw ConfigError(file, "versions",
                      "a mapping of framework to release (deepspeed: 0.16.4, peft: 0.15.2)");
  check_keys(node, {"deepspeed", "peft"}, file, "versions.");
  if (present(node["deepspeed"]))
    v.deepspeed =
        parse_in_range(node["deepspeed"], file, "versions.deepspeed", kDeepSpeedOldest, kDeepSpeedNewest);
  if (present(node["peft"]))
    v.peft = parse_in_range(node["peft"], file, "versions.peft", kPeftOldest, kPeftNewest);
  return v;
}

}  // namespace zerosim
