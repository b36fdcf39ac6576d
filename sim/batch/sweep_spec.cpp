#include "sim/batch/sweep_spec.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "workloads/config_error.h"
#include "workloads/model_spec.h"
#include "workloads/run_config.h"
#include "workloads/yaml_read.h"

namespace zerosim {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kSweepKeys = {"base", "axes", "exclude"};
constexpr size_t kMaxSweepPoints = 100'000;  // resolved up front at ~0.1-1 ms each

struct Axis {
  std::string key;
  std::vector<YAML::Node> values;
  std::vector<nlohmann::json> json;  // the same values, for comparisons and output
};

// One exclude rule: for each axis it names, the values it matches.
using ExcludeRule = std::vector<std::pair<size_t, std::vector<nlohmann::json>>>;

std::string emit(const YAML::Node& node, bool flow) {
  YAML::Emitter e;
  if (flow) e << YAML::Flow;
  e << node;
  return e.c_str();
}

// Run-config keys that hold file paths. run_config resolves a relative path from the current
// directory, then from the config file's directory; a worker reads its point from a scratch file
// elsewhere, so paths relative to the base (or the sweep file, for an inline base) are anchored
// here, the way the base's own loader would have found them. (One or two levels deep.)
const std::vector<std::vector<std::string>> kPathKeys = {
    {"model"},    {"peft", "adapter"},     {"deepspeed"},  {"zero", "deepspeed"},
    {"platform"}, {"cluster", "platform"}, {"calibration"}};

void anchor_paths(YAML::Node& root, const std::string& origin) {
  const fs::path dir = fs::path(origin).parent_path();
  if (dir.empty()) return;
  const std::vector<std::string> presets = preset_names();
  for (const auto& path : kPathKeys) {
    // Read through const nodes (no yaml-cpp node is created or rebound), write by full path.
    const YAML::Node& croot = root;
    const YAML::Node section = path.size() == 2 ? croot[path[0]] : croot;
    if (!section || !section.IsMap()) continue;
    const YAML::Node value = section[path.back()];
    if (!value || !value.IsScalar()) continue;
    const std::string& v = value.Scalar();
    if (path.front() == "model" && std::find(presets.begin(), presets.end(), v) != presets.end()) continue;
    std::error_code ec;
    const fs::path p(v);
    if (!p.is_relative() || fs::exists(p, ec) || !fs::exists(dir / p, ec)) continue;
    const std::string anchored = (dir / p).lexically_normal().string();
    if (path.size() == 2)
      root[path[0]][path[1]] = anchored;
    else
      root[path[0]] = anchored;
  }
}

bool names_axis(const std::string& error_key, const std::string& axis) {
  if (error_key.empty()) return false;
  return error_key == axis || axis.starts_with(error_key + ".") || error_key.starts_with(axis + ".");
}

YAML::Node load_base(const YAML::Node& node, const std::string& file, std::string& origin) {
  origin = file;
  if (!node || node.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (node.IsMap()) return YAML::Clone(node);
  if (!node.IsScalar())
    throw ConfigError(file, "base", "expected a run config (a mapping) or the path to one" + line_of(node));
  fs::path p(node.Scalar());
  if (p.is_relative())
    p = (fs::path(file).parent_path() / p).lexically_normal();  // relative to the sweep file
  origin = p.string();
  YAML::Node base = parse_yaml_file(origin, "base run config");
  if (!base || base.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!base.IsMap()) throw ConfigError(origin, "", "a run config is a mapping of sections");
  return base;
}

std::vector<Axis> read_axes(const YAML::Node& node, const std::string& file) {
  if (!node || node.IsNull())
    throw ConfigError(file, "axes",
                      "missing: map config keys to the values to sweep, e.g. zero.stage: [0, 1, 2, 3]");
  if (!node.IsMap() || node.size() == 0)
    throw ConfigError(file, "axes", "expected a mapping of config keys to lists of values" + line_of(node));
  std::vector<Axis> axes;
  for (const auto& kv : node) {
    Axis a;
    a.key = kv.first.Scalar();
    const std::string where = "axes." + a.key;
    if (a.key.empty()) throw ConfigError(file, "axes", "an axis needs a config key" + line_of(kv.first));
    for (const Axis& other : axes) {
      if (other.key == a.key) throw ConfigError(file, where, "appears twice" + line_of(kv.first));
      if (names_axis(other.key, a.key))
        throw ConfigError(file, where, "overlaps axis '" + other.key + "': one would overwrite the other");
    }
    if (!kv.second.IsSequence())
      throw ConfigError(file, where, "expected a list of values, e.g. [0, 1]" + line_of(kv.second));
    if (kv.second.size() == 0)
      throw ConfigError(file, where, "empty list: an axis needs at least one value" + line_of(kv.second));
    for (const auto& v : kv.second) {
      nlohmann::json j = yaml_to_json(v);
      if (std::find(a.json.begin(), a.json.end(), j) != a.json.end())
        throw ConfigError(file, where, "lists " + j.dump() + " twice" + line_of(v));
      a.values.push_back(v);
      a.json.push_back(std::move(j));
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

std::vector<ExcludeRule> read_excludes(const YAML::Node& node, const std::vector<Axis>& axes,
                                       const std::string& file) {
  std::vector<ExcludeRule> rules;
  if (!node || node.IsNull()) return rules;
  if (!node.IsSequence())
    throw ConfigError(
        file, "exclude",
        "expected a list of rules, e.g. - {zero.stage: 0, cluster.gpus: [32, 64]}" + line_of(node));
  std::vector<std::string> axis_keys;
  axis_keys.reserve(axes.size());
  for (const Axis& a : axes) axis_keys.push_back(a.key);
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node r = node[i];
    const std::string where = "exclude[" + std::to_string(i) + "]";
    if (!r.IsMap() || r.size() == 0)
      throw ConfigError(file, where,
                        "expected a mapping of axis keys to a value or a list of values" + line_of(r));
    ExcludeRule rule;
    for (const auto& kv : r) {
      const std::string key = kv.first.Scalar();
      const auto it = std::find(axis_keys.begin(), axis_keys.end(), key);
      if (it == axis_keys.end())
        throw ConfigError(file, where + "." + key,
                          "is not an axis (axes: " + join(axis_keys) + ")" + line_of(kv.first));
      std::vector<nlohmann::json> values;
      if (kv.second.IsSequence())
        for (const auto& v : kv.second) values.push_back(yaml_to_json(v));
      else
        values.push_back(yaml_to_json(kv.second));
      rule.emplace_back(static_cast<size_t>(it - axis_keys.begin()), std::move(values));
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool excluded_by(const std::vector<ExcludeRule>& rules, const std::vector<Axis>& axes,
                 const std::vector<size_t>& at) {
  for (const auto& rule : rules) {
    bool all = true;
    for (const auto& [axis, values] : rule) {
      const nlohmann::json& v = axes[axis].json[at[axis]];
      all = all && std::find(values.begin(), values.end(), v) != values.end();
    }
    if (all) return true;
  }
  return false;
}

SweepPoint make_point(const YAML::Node& base, const std::string& origin, const std::vector<Axis>& axes,
                      const std::vector<size_t>& at, const std::string& file) {
  SweepPoint p;
  p.axes = nlohmann::json::object();
  YAML::Node tree = YAML::Clone(base);
  for (size_t a = 0; a < axes.size(); ++a) {
    p.axes[axes[a].key] = axes[a].json[at[a]];
    try {
      apply_override(tree, {axes[a].key, emit(axes[a].values[at[a]], true)}, origin);
    } catch (const ConfigError& e) {
      throw ConfigError(file, "axes." + axes[a].key, e.what());  // the key cannot be set at all
    }
  }
  anchor_paths(tree, origin);
  p.config_yaml = emit(tree, false) + "\n";
  try {
    p.config = run_config_from_yaml(YAML::Clone(tree), origin).echo();
    p.hash = fnv1a64(p.config.dump());
  } catch (const ConfigError& e) {
    p.config = nullptr;
    p.error = e.what();
    p.error_key = e.key();
    p.hash = fnv1a64("unresolved\n" + p.config_yaml);
  }
  return p;
}

// An axis key the run config does not know is a mistake in SWEEP.yaml whatever it is combined with:
// one point failing on it with check_keys' "unknown key" proves it. (Another section's error, reported
// first for some combinations, must not hide it among the rows.) Likewise an axis value with which not
// one point resolves, each failing on that very key (a value of the wrong type or out of range).
void check_axis_values(const Sweep& s, const std::vector<Axis>& axes) {
  for (const Axis& axis : axes) {
    for (const SweepPoint& p : s.points)
      if (names_axis(p.error_key, axis.key) && p.error.find("unknown key") != std::string::npos)
        throw ConfigError(s.file, "axes." + axis.key, "is not a run-config key: " + p.error);
    std::vector<std::string> bad;  // values with which every point fails on this key
    std::string first_error;
    for (const nlohmann::json& v : axis.json) {
      const SweepPoint* first = nullptr;
      bool always_fails_here = true;
      for (const SweepPoint& p : s.points) {
        if (p.axes[axis.key] != v) continue;
        if (!first) first = &p;
        always_fails_here = always_fails_here && !p.error.empty() && names_axis(p.error_key, axis.key);
      }
      if (!first || !always_fails_here) continue;
      bad.push_back(v.dump());
      if (first_error.empty()) first_error = first->error;
    }
    if (bad.size() == axis.json.size())
      throw ConfigError(s.file, "axes." + axis.key,
                        "no value of this axis gives a valid run config: " + first_error);
    if (!bad.empty())
      throw ConfigError(s.file, "axes." + axis.key,
                        "value" + std::string(bad.size() > 1 ? "s " : " ") + join(bad) +
                            " fail(s) in every point: " + first_error);
  }
  const bool none =
      std::all_of(s.points.begin(), s.points.end(), [](const SweepPoint& p) { return !p.error.empty(); });
  if (none)
    throw ConfigError(s.file, "base",
                      "no point of the sweep is a valid run config; the first: " + s.points.front().error);
}

}  // namespace

uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (!node || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : node) a.push_back(yaml_to_json(e));
    return a;
  }
  if (node.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : node) o[kv.first.Scalar()] = yaml_to_json(kv.second);
    return o;
  }
  if (node.Tag() == "!") return node.Scalar();  // quoted in the file: a string whatever it looks like
  int64_t i = 0;
  if (YAML::convert<int64_t>::decode(node, i)) return i;
  double d = 0;
  if (YAML::convert<double>::decode(node, d)) return d;
  bool b = false;
  if (YAML::convert<bool>::decode(node, b)) return b;
  return node.Scalar();
}

Sweep sweep_from_yaml(const YAML::Node& root, const std::string& file) {
  if (!root || !root.IsMap())
    throw ConfigError(file, "", "a sweep file is a mapping with base:, axes: and exclude:");
  check_keys(root, kSweepKeys, file, "");
  Sweep s;
  s.file = file;
  std::string origin;
  const YAML::Node base = load_base(root["base"], file, origin);
  const std::vector<Axis> axes = read_axes(root["axes"], file);
  const std::vector<ExcludeRule> rules = read_excludes(root["exclude"], axes, file);
  for (const Axis& a : axes) s.axis_keys.push_back(a.key);
  // Every point is resolved (and held) up front: a product of axes in the billions would hang and
  // exhaust memory before anything runs. The count saturates instead of wrapping around.
  size_t cartesian = 1;
  for (const Axis& a : axes)
    cartesian = cartesian > kMaxSweepPoints ? cartesian : cartesian * a.values.size();
  if (cartesian > kMaxSweepPoints)
    throw ConfigError(file, "axes",
                      "the axes give more than " + std::to_string(kMaxSweepPoints) +
                          " points (the limit, before exclusions): split the sweep into several files");

  // Odometer over the axes: the last axis turns fastest.
  std::vector<size_t> at(axes.size(), 0);
  for (bool more = true; more;) {
    if (excluded_by(rules, axes, at)) {
      ++s.excluded;
    } else {
      SweepPoint p = make_point(base, origin, axes, at, file);
      p.index = s.points.size();
      s.points.push_back(std::move(p));
    }
    more = false;
    for (size_t a = axes.size(); a-- > 0;) {
      if (++at[a] < axes[a].values.size()) {
        more = true;
        break;
      }
      at[a] = 0;
    }
  }
  if (s.points.empty()) throw ConfigError(file, "exclude", "the rules exclude every point of the sweep");
  check_axis_values(s, axes);

  std::string ids;
  for (const SweepPoint& p : s.points) ids += std::to_string(p.index) + " " + hex64(p.hash) + "\n";
  s.id = fnv1a64(join(s.axis_keys, ",") + "\n" + ids);
  return s;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const auto bad = [&] {
    return ConfigError("--shard", "--shard",
                       "'" + text + "' is not K/N with 1 <= K <= N (1-based, e.g. --shard 1/3 .. 3/3)");
  };
  if (slash == std::string::npos) throw bad();
  const std::string k = text.substr(0, slash), n = text.substr(slash + 1);
  const auto digits = [](const std::string& t) {
    return !t.empty() && t.size() < 10 &&
           std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(k) || !digits(n)) throw bad();
  Shard s{std::stoul(k), std::stoul(n)};
  if (s.n == 0 || s.k == 0 || s.k > s.n) throw bad();
  return s;
}

Sweep load_sweep(const std::string& path) {
  return sweep_from_yaml(parse_yaml_file(path, "sweep file"), path);
}

}  // namespace zerosim
