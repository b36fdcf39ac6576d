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

// A release of `name` between oldest and `newest` (or, with `newest_patches`, any patch release of the
// newest minor release: transformers' patch releases change no modelled code path).
Version parse_release(const YAML::Node& n, const std::string& file, const std::string& name, Version oldest,
                      Version newest, bool newest_patches) {
  const std::string key = "versions." + name;
  const Version v = parse_version(n, file, key);
  const Version last = newest_patches ? Version{newest.major, newest.minor, 999} : newest;
  if (v < oldest || v > last)
    throw ConfigError(
        file, key,
        v.text() + " is outside the releases whose code zerosim models (" + oldest.text() + " to " +
            (newest_patches ? std::to_string(newest.major) + "." + std::to_string(newest.minor) + ".x"
                            : newest.text()) +
            ")");
  return v;
}

}  // namespace

FrameworkVersions parse_versions(const YAML::Node& node, const std::string& file) {
  FrameworkVersions v;
  if (!present(node)) return v;
  if (!node.IsMap())
    throw ConfigError(
        file, "versions",
        "a mapping of framework to release (deepspeed: 0.16.4, transformers: 4.46.3, peft: 0.15.2, "
        "nccl: 2.21.5, bitsandbytes: 0.45.0, torch: 2.4.1)");
  check_keys(node, {"deepspeed", "transformers", "peft", "nccl", "bitsandbytes", "torch"}, file, "versions.");
  if (present(node["deepspeed"]))
    v.deepspeed =
        parse_release(node["deepspeed"], file, "deepspeed", kDeepSpeedOldest, kDeepSpeedNewest, false);
  if (present(node["transformers"]))
    v.transformers = parse_release(node["transformers"], file, "transformers", kTransformersOldest,
                                   kTransformersNewest, true);
  if (present(node["peft"]))
    v.peft = parse_release(node["peft"], file, "peft", kPeftOldest, kPeftNewest, false);
  if (present(node["nccl"]))
    v.nccl = parse_release(node["nccl"], file, "nccl", kNcclOldest, kNcclNewest, true);
  if (present(node["bitsandbytes"]))
    v.bitsandbytes = parse_release(node["bitsandbytes"], file, "bitsandbytes", kBitsandbytesOldest,
                                   kBitsandbytesNewest, false);
  if (present(node["torch"]))
    v.torch = parse_release(node["torch"], file, "torch", kTorchOldest, kTorchNewest, true);
  return v;
}

}  // namespace zerosim
