#include "sim/batch/sweep_results.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sim/report/csv.h"

namespace zerosim {

namespace {

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// A sweep CSV cell's text: numbers and booleans as JSON prints them, strings as they are, lists and
// objects as JSON; null is empty.
std::string cell_text(const nlohmann::json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

const nlohmann::json* at_path(const nlohmann::json& j, const std::string& dotted) {
  const nlohmann::json* cur = &j;
  std::stringstream ss(dotted);
  for (std::string part; std::getline(ss, part, '.');) {
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

ResultPaths result_paths(const std::string& out) {
  std::filesystem::path p(out);
  ResultPaths r;
  if (p.extension() == ".jsonl") {
    r.jsonl = out;
    r.csv = std::filesystem::path(p).replace_extension(".csv").string();
  } else {
    r.csv = out;
    r.jsonl = std::filesystem::path(p).replace_extension(".jsonl").string();
  }
  return r;
}

nlohmann::json make_row(const Sweep& sweep, const SweepPoint& point, const PointOutcome* outcome) {
  nlohmann::json row = nlohmann::json::object();
  if (!point.error.empty()) {
    row = {{"config", nullptr}, {"error", point.error}};
  } else if (!outcome) {
    throw std::logic_error("make_row: a resolved point needs its worker's outcome");
  } else {
    std::string error;
    if (outcome->exit_code == 0) {
      try {
        row = nlohmann::json::parse(outcome->out);
        if (!row.is_object()) error = "the worker's output is not a JSON object";
      } catch (const nlohmann::json::exception& e) {
        error = std::string("the worker's output is not JSON: ") + e.what();
      }
    } else {
      error = trimmed(outcome->err);
      if (error.empty()) error = "the worker exited with code " + std::to_string(outcome->exit_code);
      if (error.size() > 4000) error = error.substr(0, 4000) + "...";
    }
    if (!error.empty())
      row = {{"config", point.config}, {"error", error}};
    else
      row["error"] = nullptr;
  }
  row["axes"] = point.axes;
  row["point"] = hex64(point.hash);
  row["sweep"] = {{"id", hex64(sweep.id)},
                  {"index", point.index},
                  {"points", sweep.points.size()},
                  {"axes", sweep.axis_keys}};
  return row;
}

const std::vector<std::pair<std::string, std::string>>& headline_columns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"peak_bytes", "memory.peak_bytes"},
      {"fits", "memory.fits"},
      {"step_s", "time.step_s"},
      {"tokens_per_s", "throughput.tokens_per_s"},
      {"tokens_per_s_per_gpu", "throughput.tokens_per_s_per_gpu"},
      {"mfu", "throughput.mfu"},
      {"exposed_comm_s", "time.exposed_comm_s"},
      {"error", "error"}};
  return columns;
}

std::string csv_header(const std::vector<std::string>& axis_keys) {
  std::vector<std::string> cells = {"index", "point"};
  cells.insert(cells.end(), axis_keys.begin(), axis_keys.end());
  for (const auto& [name, path] : headline_columns()) cells.push_back(name);
  return csv_row(cells);
}

std::string csv_line(const nlohmann::json& row, const std::vector<std::string>& axis_keys) {
  std::vector<std::string> cells = {cell_text(row["sweep"]["index"]), cell_text(row["point"])};
  const nlohmann::json& axes = row["axes"];
  for (const auto& k : axis_keys) cells.push_back(axes.contains(k) ? cell_text(axes[k]) : std::string());
  for (const auto& [name, path] : headline_columns()) {
    const nlohmann::json* v = at_path(row, path);
    cells.push_back(v ? cell_text(*v) : std::string());
  }
  return csv_row(cells);
}

StoredRows read_rows(const std::string& jsonl_path) {
  StoredRows r;
  std::ifstream in(jsonl_path, std::ios::binary);
  if (!in) return r;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t nl = text.find('\n', begin);
    if (nl == std::string::npos) {  // no newline: the write of this line never finished
      ++r.dropped;
      break;
    }
    std::string line = text.substr(begin, nl - begin);
    begin = nl + 1;
    if (line.empty()) continue;
    try {
      nlohmann::json row = nlohmann::json::parse(line);
      const nlohmann::json* index = at_path(row, "sweep.index");
      if (!index || !index->is_number_unsigned()) {
        ++r.dropped;
        continue;
      }
      r.rows.push_back({std::move(row), std::move(line)});
    } catch (const nlohmann::json::exception&) {
      ++r.dropped;
    }
  }
  return r;
}

RowAppender::RowAppender(const std::string& path, bool truncate) : path_(path) {
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw std::runtime_error(sys_error("cannot open", path));
}

RowAppender::~RowAppender() {
  if (fd_ >= 0) close(fd_);
}

void RowAppender::append(const std::string& line) {
  // One write() of the whole line: with O_APPEND it lands at the end in one piece. A short write
  // (disk full) is finished by further writes; only a kill in between can tear it, and readers drop
  // a last line without its newline.
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(sys_error("cannot write", path_));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd_) != 0) throw std::runtime_error(sys_error("cannot fsync", path_));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    RowAppender out(tmp, true);
    out.append(text);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string message = sys_error("cannot rename onto", path);
    std::remove(tmp.c_str());
    throw std::runtime_error(message);
  }
}

void write_sorted_results(const ResultPaths& paths, const std::map<size_t, std::string>& lines_by_index,
                          const std::vector<std::string>& axis_keys) {
  std::string jsonl;
  std::string csv = csv_header(axis_keys);
  for (const auto& [index, line] : lines_by_index) {
    jsonl += line + "\n";
    csv += csv_line(nlohmann::json::parse(line), axis_keys);
  }
  write_file_atomically(paths.jsonl, jsonl);
  write_file_atomically(paths.csv, csv);
}

}  // namespace zerosim
