#include "sim/report/output_format.h"

#include <cstdio>
#include <sstream>

#include "sim/report/csv.h"
#include "workloads/config_error.h"
#include "workloads/units.h"

namespace zerosim {

OutputFormat parse_format(const std::string& text) {
  if (text == "table") return OutputFormat::table;
  if (text == "json") return OutputFormat::json;
  if (text == "csv") return OutputFormat::csv;
  throw ConfigError("--format", "", "'" + text + "' is not a format (allowed: table, json, csv)");
}

std::string json_text(const nlohmann::json& j) { return j.dump(2) + "\n"; }

std::string formatted(OutputFormat format, const nlohmann::json& j,
                      const std::function<std::string()>& table) {
  if (format == OutputFormat::json) return json_text(j);
  if (format == OutputFormat::csv) return csv_from_json(j);
  return table();
}

namespace {
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  std::string v;
  if (j.is_string()) {
    v = j.get<std::string>();
  } else if (j.is_array()) {
    for (const auto& e : j) v += (v.empty() ? "" : ";") + (e.is_string() ? e.get<std::string>() : e.dump());
  } else {
    v = j.dump();
  }
  out.emplace_back(prefix, v);
}
}  // namespace

std::string csv_from_json(const nlohmann::json& j) {
  std::vector<std::pair<std::string, std::string>> cells;
  flatten(j, "", cells);
  std::vector<std::string> header, row;
  for (const auto& [key, value] : cells) {
    header.push_back(key);
    row.push_back(value);
  }
  return csv_row(header) + csv_row(row);
}

std::string gib(int64_t bytes, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, static_cast<double>(bytes) / kBytesPerGiB);
  return buf;
}

}  // namespace zerosim
