#include "sim/batch/validation_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace zerosim {

namespace {

std::string value_text(double v, const std::string& unit, const std::string& metric) {
  char b[64];
  if (metric == "oom") return v > 0.5 ? "OOM" : "fits";
  if (unit == "GiB" || unit == "GB")
    std::snprintf(b, sizeof b, "%.2f %s", v, unit.c_str());
  else if (unit == "s")
    std::snprintf(b, sizeof b, "%.3f s", v);
  else if (unit == "samples/s")
    std::snprintf(b, sizeof b, "%.2f /s", v);
  else if (unit == "tokens/s")
    std::snprintf(b, sizeof b, "%.0f tok/s", v);
  else if (unit == "GB/s")
    std::snprintf(b, sizeof b, "%.1f GB/s", v);
  else if (unit == "ratio")
    std::snprintf(b, sizeof b, "%.2fx", v);
  else
    std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

std::string table_header(const std::vector<CaseFile>& files, const ValidationSources& s) {
  size_t n_cases = 0;
  for (const auto& f : files) n_cases += f.cases.size();
  std::string out = "# zerosim validate: " + std::to_string(n_cases) + " cases in " +
                    std::to_string(files.size()) + " files of " + s.dir +
                    "\n# tolerances and known misses: " +
                    (s.expectations.empty() ? std::string("none (errors only)") : s.expectations) + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %-22s %16s %16s %8s  %-11s %s\n", "case", "metric", "predicted",
                "measured", "error", "status", "source");
  return out + line;
}

std::string table_row(const ComparisonRow& r) {
  std::string err = "";
  if (r.error_pct) {
    char e[32];
    std::snprintf(e, sizeof e, "%+.1f%%", *r.error_pct);
    err = e;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %-22s %16s %16s %8s  %-11s %s\n", r.case_id.c_str(),
                r.metric.c_str(), value_text(r.predicted, r.unit, r.metric).c_str(),
                value_text(r.measured, r.unit, r.metric).c_str(), err.c_str(), status_name(r.status),
                stem(r.file).c_str());
  return line;
}

// Each reason once, after the figures it explains.
std::string known_miss_reasons(const ValidationReport& rep, const std::string& expectations) {
  std::vector<std::pair<std::string, std::vector<std::string>>> reasons;
  for (const auto& r : rep.rows) {
    if (r.reason.empty()) continue;
    auto it =
        std::find_if(reasons.begin(), reasons.end(), [&](const auto& p) { return p.first == r.reason; });
    if (it == reasons.end()) it = reasons.insert(reasons.end(), {r.reason, {}});
    it->second.push_back(
        r.case_id + " " + r.metric +
        (r.status == RowStatus::known_miss ? "" : " [" + std::string(status_name(r.status)) + "]"));
  }
  std::string out;
  if (!reasons.empty()) out += "\nknown misses (" + expectations + "):\n";
  for (const auto& [reason, figures] : reasons) {
    for (const auto& fig : figures) out += "  " + fig + "\n";
    out += "      -> " + reason + "\n";
  }
  return out;
}

std::string family_line(MetricFamily fam, const FamilySummary& s) {
  char line[512];
  std::snprintf(line, sizeof line, "  %-10s %6.1f%%", family_name(fam), s.mape_pct);
  std::string out = line;
  if (!s.tolerance) return out + "  (" + std::to_string(s.rows) + " figures)\n";
  std::snprintf(line, sizeof line,
                "  (tolerance ±%.0f%%: %d of %d scored figures within, %d known misses, %d misses",
                100.0 * *s.tolerance, s.within, s.scored, s.known_misses, s.misses);
  out += line;
  if (fam != MetricFamily::ratio) {
    std::snprintf(line, sizeof line, "; %d optimistic, %d pessimistic", s.optimistic, s.pessimistic);
    out += line;
  }
  if (s.scored != s.rows) {
    std::snprintf(line, sizeof line, "; %d below the bar unscored, MAPE over all %d: %.1f%%",
                  s.rows - s.scored, s.rows, s.mape_all_pct);
    out += line;
  }
  return out + ")\n";
}

nlohmann::json row_json(const ComparisonRow& r) {
  nlohmann::json j = {{"case", r.case_id},
                      {"metric", r.metric},
                      {"family", family_name(r.family)},
                      {"unit", r.unit},
                      {"predicted", r.predicted},
                      {"measured", r.measured},
                      {"status", status_name(r.status)},
                      {"file", r.file},
                      {"source", r.source},
                      {"detail", r.detail}};
  j["error_pct"] = r.error_pct ? nlohmann::json(*r.error_pct) : nlohmann::json(nullptr);
  if (r.message_bytes > 0) j["message_bytes"] = r.message_bytes;
  if (!r.reason.empty()) j["known_miss_reason"] = r.reason;
  return j;
}

nlohmann::json families_json(const ValidationReport& rep) {
  nlohmann::json fams = nlohmann::json::object();
  for (const auto& [fam, s] : rep.families) {
    fams[family_name(fam)] = {{"rows", s.rows},
                              {"scored", s.scored},
                              {"within", s.within},
                              {"known_misses", s.known_misses},
                              {"misses", s.misses},
                              {"mape_pct", s.mape_pct},
                              {"mape_all_pct", s.mape_all_pct},
                              {"optimistic", s.optimistic},
                              {"pessimistic", s.pessimistic}};
    fams[family_name(fam)]["tolerance"] =
        s.tolerance ? nlohmann::json(*s.tolerance) : nlohmann::json(nullptr);
  }
  return fams;
}

}  // namespace

std::string validation_table(const ValidationReport& rep, const std::vector<CaseFile>& files,
                             const ValidationSources& sources) {
  std::string out = table_header(files, sources);
  for (const auto& r : rep.rows) out += table_row(r);
  out += known_miss_reasons(rep, sources.expectations);
  for (const auto& e : rep.errors) out += "\nNOT RUN " + e.case_id + ": " + e.error.what() + "\n";
  for (const auto& km : rep.stale_known_misses)
    out += "  STALE: " + km.case_id + " " + km.metric +
           " is listed as a known miss but no case has that metric\n";
  out += "\nmean absolute percentage error per family:\n";
  for (const auto& [fam, s] : rep.families) out += family_line(fam, s);
  out += "\nsources:\n";
  for (const auto& f : files) out += "  " + stem(f.path) + ": " + f.source + "\n";
  return out;
}

nlohmann::json validation_json(const ValidationReport& rep, const std::vector<CaseFile>& files,
                               const ValidationSources& sources) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rep.rows) rows.push_back(row_json(r));
  nlohmann::json stale = nlohmann::json::array();
  for (const auto& km : rep.stale_known_misses)
    stale.push_back({{"case", km.case_id}, {"metric", km.metric}, {"reason", km.reason}});
  nlohmann::json src = nlohmann::json::array();
  for (const auto& f : files)
    src.push_back({{"file", f.path}, {"source", f.source}, {"hardware", f.hardware}});
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : rep.errors)
    errors.push_back(
        {{"case", e.case_id}, {"file", e.error.file()}, {"key", e.error.key()}, {"message", e.error.what()}});
  return {{"dir", sources.dir},
          {"known_misses_file", sources.expectations},
          {"rows", rows},
          {"errors", errors},
          {"families", families_json(rep)},
          {"stale_known_misses", stale},
          {"files", src},
          {"predictions", rep.predictions}};
}

}  // namespace zerosim
