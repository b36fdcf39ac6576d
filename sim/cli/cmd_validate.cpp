// zerosim validate [DIR] [--known-misses FILE] [--format table|json]
// Runs every validation case file in DIR (published measurements, shared/validation/README.md schema)
// and prints predicted against measured with the signed error, the status against the tolerance of
// the metric family, and the mean absolute percentage error per family. Predictions that miss are a
// result (exit 0); only errors in the files themselves are exit 2.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "sim/cli/commands.h"
#include "sim/cli/format_option.h"
#include "sim/report/output_format.h"
#include "sim/batch/validation_cases.h"
#include "sim/batch/validation_run.h"
#include "workloads/config_error.h"

namespace zerosim {

namespace {

namespace fs = std::filesystem;

constexpr const char* kKnownMissesName = "known-misses.yaml";

std::string default_dir() {
  std::error_code ec;
  return fs::is_directory("../shared/validation", ec) ? "../shared/validation" : "tests/validation";
}

// The tolerances and known misses: --known-misses, else DIR/known-misses.yaml, else the project's
// tests/validation/known-misses.yaml (the cases there are a copy of the shared ones).
std::string find_expectations(const std::string& dir, const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  for (const fs::path& p : {fs::path(dir) / kKnownMissesName, fs::path("tests/validation") / kKnownMissesName})
    if (fs::is_regular_file(p, ec)) return p.string();
  return "";
}

std::string value_text(double v, const std::string& unit, const std::string& metric) {
  char b[64];
  if (metric == "oom") return v > 0.5 ? "OOM" : "fits";
  if (unit == "GiB" || unit == "GB") std::snprintf(b, sizeof b, "%.2f %s", v, unit.c_str());
  else if (unit == "s") std::snprintf(b, sizeof b, "%.3f s", v);
  else if (unit == "samples/s") std::snprintf(b, sizeof b, "%.2f /s", v);
  else if (unit == "tokens/s") std::snprintf(b, sizeof b, "%.0f tok/s", v);
  else if (unit == "GB/s") std::snprintf(b, sizeof b, "%.1f GB/s", v);
  else if (unit == "ratio") std::snprintf(b, sizeof b, "%.2fx", v);
  else std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

std::string table(const ValidationReport& rep, const std::vector<CaseFile>& files, const std::string& dir,
                  const std::string& expectations) {
  size_t n_cases = 0;
  for (const auto& f : files) n_cases += f.cases.size();
  std::string out = "# zerosim validate: " + std::to_string(n_cases) + " cases in " + std::to_string(files.size()) +
                    " files of " + dir + "\n# tolerances and known misses: " +
                    (expectations.empty() ? std::string("none (errors only)") : expectations) + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %-22s %16s %16s %8s  %-11s %s\n", "case", "metric", "predicted", "measured",
                "error", "status", "source");
  out += line;
  for (const auto& r : rep.rows) {
    std::string err = "";
    if (r.error_pct) {
      char e[32];
      std::snprintf(e, sizeof e, "%+.1f%%", *r.error_pct);
      err = e;
    }
    std::snprintf(line, sizeof line, "%-36s %-22s %16s %16s %8s  %-11s %s\n", r.case_id.c_str(), r.metric.c_str(),
                  value_text(r.predicted, r.unit, r.metric).c_str(), value_text(r.measured, r.unit, r.metric).c_str(),
                  err.c_str(), status_name(r.status), stem(r.file).c_str());
    out += line;
  }
  // Each reason once, after the figures it explains.
  std::vector<std::pair<std::string, std::vector<std::string>>> reasons;
  for (const auto& r : rep.rows) {
    if (r.reason.empty()) continue;
    auto it = std::find_if(reasons.begin(), reasons.end(), [&](const auto& p) { return p.first == r.reason; });
    if (it == reasons.end()) it = reasons.insert(reasons.end(), {r.reason, {}});
    it->second.push_back(r.case_id + " " + r.metric + (r.status == RowStatus::known_miss ? "" : " [" + std::string(status_name(r.status)) + "]"));
  }
  if (!reasons.empty()) out += "\nknown misses (" + expectations + "):\n";
  for (const auto& [reason, figures] : reasons) {
    for (const auto& fig : figures) out += "  " + fig + "\n";
    out += "      -> " + reason + "\n";
  }
  for (const auto& e : rep.errors) out += "\nNOT RUN " + e.case_id + ": " + e.error.what() + "\n";
  for (const auto& km : rep.stale_known_misses)
    out += "  STALE: " + km.case_id + " " + km.metric + " is listed as a known miss but no case has that metric\n";
  out += "\nmean absolute percentage error per family:\n";
  for (const auto& [fam, s] : rep.families) {
    std::snprintf(line, sizeof line, "  %-10s %6.1f%%", family_name(fam), s.mape_pct);
    out += line;
    if (s.tolerance) {
      std::snprintf(line, sizeof line, "  (tolerance ±%.0f%%: %d of %d scored figures within, %d known misses, %d misses",
                    100.0 * *s.tolerance, s.within, s.scored, s.known_misses, s.misses);
      out += line;
      if (s.scored != s.rows) {
        std::snprintf(line, sizeof line, "; %d below the bar unscored, MAPE over all %d: %.1f%%", s.rows - s.scored,
                      s.rows, s.mape_all_pct);
        out += line;
      }
      out += ")";
    } else {
      out += "  (" + std::to_string(s.rows) + " figures)";
    }
    out += "\n";
  }
  out += "\nsources:\n";
  for (const auto& f : files) out += "  " + stem(f.path) + ": " + f.source + "\n";
  return out;
}

nlohmann::json report_json(const ValidationReport& rep, const std::vector<CaseFile>& files, const std::string& dir,
                           const std::string& expectations) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rep.rows) {
    nlohmann::json j = {{"case", r.case_id},         {"metric", r.metric},     {"family", family_name(r.family)},
                        {"unit", r.unit},            {"predicted", r.predicted}, {"measured", r.measured},
                        {"status", status_name(r.status)}, {"file", r.file}, {"source", r.source}, {"detail", r.detail}};
    j["error_pct"] = r.error_pct ? nlohmann::json(*r.error_pct) : nlohmann::json(nullptr);
    if (r.message_bytes > 0) j["message_bytes"] = r.message_bytes;
    if (!r.reason.empty()) j["known_miss_reason"] = r.reason;
    rows.push_back(j);
  }
  nlohmann::json fams = nlohmann::json::object();
  for (const auto& [fam, s] : rep.families) {
    fams[family_name(fam)] = {{"rows", s.rows},         {"scored", s.scored},       {"within", s.within},
                              {"known_misses", s.known_misses}, {"misses", s.misses}, {"mape_pct", s.mape_pct},
                              {"mape_all_pct", s.mape_all_pct}};
    fams[family_name(fam)]["tolerance"] = s.tolerance ? nlohmann::json(*s.tolerance) : nlohmann::json(nullptr);
  }
  nlohmann::json stale = nlohmann::json::array();
  for (const auto& km : rep.stale_known_misses) stale.push_back({{"case", km.case_id}, {"metric", km.metric}, {"reason", km.reason}});
  nlohmann::json src = nlohmann::json::array();
  for (const auto& f : files) src.push_back({{"file", f.path}, {"source", f.source}, {"hardware", f.hardware}});
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : rep.errors)
    errors.push_back({{"case", e.case_id}, {"file", e.error.file()}, {"key", e.error.key()}, {"message", e.error.what()}});
  return {{"dir", dir},           {"known_misses_file", expectations}, {"rows", rows}, {"errors", errors},
          {"families", fams},     {"stale_known_misses", stale},      {"files", src},
          {"predictions", rep.predictions}};
}

}  // namespace

void add_validate_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("validate", "compare predictions with published measurements (validation case files)");
  struct Options {
    std::string dir, known_misses, format = "table";
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("DIR", o->dir, "directory of case files (default: ../shared/validation if present, else tests/validation)");
  cmd->add_option("--known-misses", o->known_misses,
                  "tolerances and known misses (default: DIR/known-misses.yaml, else tests/validation/known-misses.yaml)");
  add_format_option(*cmd, o->format, "table,json");
  cmd->callback([o] {
    const OutputFormat f = parse_format(o->format);
    const std::string dir = o->dir.empty() ? default_dir() : o->dir;
    const std::string exp_path = find_expectations(dir, o->known_misses);
    std::optional<Expectations> expectations;
    if (!exp_path.empty()) expectations = load_expectations(exp_path);
    const auto files = load_case_dir(dir, kKnownMissesName);
    const bool tty = isatty(STDERR_FILENO) != 0;
    const ValidationReport rep = run_validation(files, expectations ? &*expectations : nullptr, [tty](const std::string& id) {
      if (tty) std::cerr << "\rvalidate: " << id << "\033[K" << std::flush;
    });
    if (tty) std::cerr << "\r\033[K" << std::flush;
    if (f == OutputFormat::json) std::cout << json_text(report_json(rep, files, dir, exp_path));
    else std::cout << table(rep, files, dir, exp_path);
    std::cout << std::flush;
    if (!rep.errors.empty()) {  // cases zerosim could not run: every one on stderr, then exit 2
      for (size_t i = 1; i < rep.errors.size(); ++i) std::cerr << "zerosim: error: " << rep.errors[i].error.what() << "\n";
      throw rep.errors.front().error;
    }
  });
}

}  // namespace zerosim
