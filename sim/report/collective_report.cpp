#include "sim/report/collective_report.h"

#include <cstdio>

namespace zerosim {

namespace {

// nccl-tests' data type column: zerosim's collectives move bf16 elements.
constexpr int64_t kElementBytes = 2;

std::string table_header(const CollectiveBenchmark& b) {
  const bool comparing = b.compare.has_value();
  std::string out = "# zerosim collective: " + b.op + " on " + std::to_string(b.gpus) + " GPUs (" + b.gpu +
                    "), " + std::to_string(b.concurrent) + " concurrent\n";
  out += "#        size         count   type      time   algbw   busbw  algo";
  out += comparing ? "   nccl-tests   error\n" : "\n";
  out += "#         (B)    (elements)             (us)  (GB/s)  (GB/s)";
  out += comparing ? "        busbw\n" : "\n";
  return out;
}

std::string table_row(const CollectiveRow& r, bool comparing) {
  char line[240];
  std::snprintf(line, sizeof line, "%14lld %13lld %6s %9.2f %7.2f %7.2f  %-5s",
                static_cast<long long>(r.size_bytes), static_cast<long long>(r.size_bytes / kElementBytes),
                "bf16", r.time_s * 1e6, r.algbw_gbps, r.busbw_gbps, r.algorithm.c_str());
  std::string out = line;
  if (comparing) {
    if (r.error)
      std::snprintf(line, sizeof line, " %11.2f %+6.1f%%", r.measured_busbw_gbps, 100 * *r.error);
    else
      std::snprintf(line, sizeof line, " %11.2f      -", r.measured_busbw_gbps);
    out += line;
  }
  return out + "\n";
}

std::string comparison_line(const CollectiveComparison& c) {
  char line[160];
  std::snprintf(line, sizeof line, " busbw): MAPE %.1f%% over %d sizes",
                c.all.sizes > 0 ? 100 * c.all.abs_sum / c.all.sizes : 0.0, c.all.sizes);
  std::string out = "# vs " + c.file + " (" + c.column + line;
  if (c.min_64mib.sizes > 0) {
    std::snprintf(line, sizeof line, ", %.1f%% over the %d of at least 64 MiB",
                  100 * c.min_64mib.abs_sum / c.min_64mib.sizes, c.min_64mib.sizes);
    out += line;
  }
  return out + "\n";
}

nlohmann::json row_json(const CollectiveRow& r, bool comparing) {
  nlohmann::json row = {{"size_bytes", r.size_bytes}, {"count", r.size_bytes / kElementBytes},
                        {"type", "bfloat16"},         {"time_s", r.time_s},
                        {"algbw_gbps", r.algbw_gbps}, {"busbw_gbps", r.busbw_gbps},
                        {"algorithm", r.algorithm}};
  if (comparing) {
    row["measured_busbw_gbps"] = r.measured_busbw_gbps;
    row["error"] = r.error ? nlohmann::json(*r.error) : nlohmann::json(nullptr);
  }
  return row;
}

nlohmann::json mape_json(const ErrorSum& e) {
  return e.sizes > 0 ? nlohmann::json(e.abs_sum / e.sizes) : nlohmann::json(nullptr);
}

}  // namespace

std::string collective_table(const CollectiveBenchmark& b) {
  std::string out = table_header(b);
  for (const CollectiveRow& r : b.rows) out += table_row(r, b.compare.has_value());
  if (b.compare) out += comparison_line(*b.compare);
  return out;
}

nlohmann::json collective_json(const CollectiveBenchmark& b) {
  nlohmann::json rows = nlohmann::json::array();
  for (const CollectiveRow& r : b.rows) rows.push_back(row_json(r, b.compare.has_value()));
  nlohmann::json out = {{"op", b.op},       {"gpus", b.gpus}, {"gpu", b.gpu}, {"concurrent", b.concurrent},
                        {"flows", b.flows}, {"results", rows}};
  if (b.compare) {
    const CollectiveComparison& c = *b.compare;
    out["compare"] = {{"file", c.file},
                      {"column", c.column},
                      {"sizes", c.all.sizes},
                      {"mape", mape_json(c.all)},
                      {"sizes_min_64mib", c.min_64mib.sizes},
                      {"mape_min_64mib", mape_json(c.min_64mib)}};
  }
  return out;
}

}  // namespace zerosim
