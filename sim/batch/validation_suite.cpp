#include "sim/batch/validation_suite.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "sim/batch/validation_cases.h"
#include "sim/batch/validation_report.h"
#include "sim/batch/validation_run.h"
#include "sim/report/output_format.h"

namespace zerosim {

namespace {

namespace fs = std::filesystem;

constexpr const char* kKnownMissesName = "known-misses.yaml";

// The published measurements bundled with zerosim, relative to the repository root.
constexpr const char* kDefaultDir = "tests/validation";

// The tolerances and known misses: --known-misses, else DIR/known-misses.yaml, else the project's
// tests/validation/known-misses.yaml.
std::string find_expectations(const std::string& dir, const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  for (const fs::path& p : {fs::path(dir) / kKnownMissesName, fs::path(kDefaultDir) / kKnownMissesName})
    if (fs::is_regular_file(p, ec)) return p.string();
  return "";
}

// Runs the cases, naming each on a terminal's stderr as it starts.
ValidationReport run_cases(const std::vector<CaseFile>& files,
                           const std::optional<Expectations>& expectations) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  ValidationReport rep =
      run_validation(files, expectations ? &*expectations : nullptr, [tty](const std::string& id) {
        if (tty) std::cerr << "\rvalidate: " << id << "\033[K" << std::flush;
      });
  if (tty) std::cerr << "\r\033[K" << std::flush;
  return rep;
}

}  // namespace

void run_validate(const ValidateOptions& o) {
  const OutputFormat f = parse_format(o.format);
  const std::string dir = o.dir.empty() ? std::string(kDefaultDir) : o.dir;
  const ValidationSources sources{dir, find_expectations(dir, o.known_misses)};
  std::optional<Expectations> expectations;
  if (!sources.expectations.empty()) expectations = load_expectations(sources.expectations);
  const auto files = load_case_dir(dir, kKnownMissesName);
  const ValidationReport rep = run_cases(files, expectations);
  if (f == OutputFormat::json)
    std::cout << json_text(validation_json(rep, files, sources));
  else
    std::cout << validation_table(rep, files, sources);
  std::cout << std::flush;
  if (!rep.errors.empty()) {  // cases zerosim could not run: every one on stderr, then exit 2
    for (size_t i = 1; i < rep.errors.size(); ++i)
      std::cerr << "zerosim: error: " << rep.errors[i].error.what() << "\n";
    throw rep.errors.front().error;
  }
}

}  // namespace zerosim
