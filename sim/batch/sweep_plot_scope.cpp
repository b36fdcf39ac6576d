#include "sim/batch/sweep_plot_scope.h"

#include <algorithm>
#include <map>
#include <set>

#include "sim/batch/sweep_plot_keys.h"
#include "workloads/config_error.h"

namespace zerosim {

namespace {

using Rows = std::vector<nlohmann::json>;

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// The config key's value when every row has the same one and the chart does not draw the key.
const nlohmann::json* fixed_value(const Rows& rows, const std::string& key,
                                  const std::vector<std::string>& drawn) {
  if (contains(drawn, key) || contains(drawn, "config." + key)) return nullptr;
  const nlohmann::json* first = plot_lookup(rows.front()["config"], key);
  if (!first) return nullptr;
  for (const auto& row : rows) {
    const nlohmann::json* v = plot_lookup(row["config"], key);
    if (!v || *v != *first) return nullptr;
  }
  return first;
}

std::string fixed_text(const Rows& rows, const std::string& key, const std::vector<std::string>& drawn) {
  const nlohmann::json* v = fixed_value(rows, key, drawn);
  return v ? plot_text(*v) : std::string();
}

std::string peft_part(const Rows& rows, const std::vector<std::string>& drawn) {
  const std::string method = fixed_text(rows, "peft.method", drawn);
  if (method.empty()) return "";
  if (method == "none") return "full fine-tuning";
  const std::string r = fixed_text(rows, "peft.r", drawn);
  return (method == "dora" ? "DoRA" : method == "lora" ? "LoRA" : method) + (r.empty() ? "" : " r=" + r);
}

std::string hardware_part(const Rows& rows, const std::vector<std::string>& drawn) {
  const std::string gpus = fixed_text(rows, "cluster.gpus", drawn),
                    gpu = fixed_text(rows, "cluster.gpu", drawn);
  std::string part = gpus.empty() ? gpu : gpus + "x " + (gpu.empty() ? "GPUs" : gpu);
  const std::string intra = fixed_text(rows, "cluster.intra", drawn);
  const std::string inter = fixed_text(rows, "cluster.inter", drawn);
  if (!intra.empty() && !inter.empty() && inter != "none") part += " (" + intra + ", " + inter + ")";
  return part;
}

// The axes that the named parts of the title already cover.
const std::set<std::string> kTitled = {"model",        "peft.method",   "peft.r",        "cluster.gpu",
                                       "cluster.gpus", "cluster.intra", "cluster.inter", "zero.stage"};

// The keys of the rows' sweep axes, leaving out `drawn`.
std::vector<std::string> axis_keys(const Rows& rows, const std::vector<std::string>& drawn) {
  std::vector<std::string> keys;
  for (const auto& row : rows) {
    if (!row.contains("axes")) continue;
    for (const auto& [key, value] : row["axes"].items())
      if (!contains(keys, key) && !contains(drawn, key)) keys.push_back(key);
  }
  return keys;
}

}  // namespace

std::vector<std::string> varying_axes(const Rows& rows, const std::vector<std::string>& drawn) {
  const std::vector<std::string> keys = axis_keys(rows, drawn);
  std::vector<std::string> varying;
  for (const auto& key : keys) {
    std::set<std::string> values;
    for (const auto& row : rows) {
      const nlohmann::json* v = plot_lookup(row, key);
      values.insert(v ? plot_text(*v) : "(absent)");
    }
    if (values.size() > 1) varying.push_back(key);
  }
  return varying;
}

void require_one_row_per_point(const Rows& rows, const std::vector<std::string>& drawn,
                               const std::string& results) {
  std::map<std::string, Rows> by_point;
  for (const auto& row : rows) {
    std::vector<std::string> coordinates;
    for (const auto& key : drawn) coordinates.push_back(key + "=" + plot_text(*plot_lookup(row, key)));
    by_point[join(coordinates)].push_back(row);
  }
  for (const auto& [point, same] : by_point) {
    if (same.size() < 2) continue;
    const std::vector<std::string> varying = varying_axes(same, drawn);
    const std::string why =
        std::to_string(same.size()) + " rows have " + point + " and would be drawn as one ";
    if (varying.empty())
      throw ConfigError(results, "", why + "point: they differ in no sweep axis (rows merged twice?)");
    std::set<nlohmann::json> distinct;  // JSON order: numbers by value, 8 before 16
    for (const auto& row : same) distinct.insert(*plot_lookup(row, varying.front()));
    std::vector<std::string> values;
    for (const auto& v : distinct) values.push_back(plot_text(v));
    throw ConfigError(results, varying.front(),
                      why + "point; they differ in " + join(varying) + " (" + varying.front() + ": " +
                          join(values) + "): keep one value with --where " + varying.front() + "=" +
                          values.front() + " or draw one line per value with --series " + varying.front());
  }
}

std::string plot_title(const Rows& rows, const std::vector<std::string>& drawn) {
  const std::string stage = fixed_text(rows, "zero.stage", drawn);
  std::vector<std::string> parts;
  for (const std::string& part : {fixed_text(rows, "model", drawn), peft_part(rows, drawn),
                                  hardware_part(rows, drawn), stage.empty() ? stage : "ZeRO-" + stage})
    if (!part.empty()) parts.push_back(part);
  // Every other sweep axis that the rows share, as KEY=VALUE (e.g. after --where).
  for (const auto& key : axis_keys(rows, drawn))
    if (kTitled.count(key) == 0)
      if (const nlohmann::json* v = fixed_value(rows, key, drawn)) parts.push_back(key + "=" + plot_text(*v));
  const std::vector<std::string> varying = varying_axes(rows, drawn);
  if (!varying.empty()) parts.push_back("differs between points: " + join(varying, " and "));
  return join(parts);
}

}  // namespace zerosim
