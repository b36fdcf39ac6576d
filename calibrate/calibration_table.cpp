#include "calibrate/calibration_table.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim::calib {

namespace {

// ---- lookup -----------------------------------------------------------------------------

struct TokenTime {
  double seconds;
  bool extrapolated;
};

bool uses_tokens(OpId op) { return !op_info(op).key.tokens.empty(); }

// Rows of one shape (same op, d_in, d_out, r), sorted by tokens.
std::vector<const OpTiming*> shape_rows(const std::vector<OpTiming>& rows, const OpKey& shape) {
  std::vector<const OpTiming*> out;
  for (const auto& row : rows)
    if (row.key.op == shape.op && row.key.d_in == shape.d_in && row.key.d_out == shape.d_out &&
        row.key.r == shape.r)
      out.push_back(&row);
  std::sort(out.begin(), out.end(),
            [](const OpTiming* a, const OpTiming* b) { return a->key.tokens < b->key.tokens; });
  return out;
}

double lerp(double x0, double y0, double x1, double y1, double x) {
  if (x1 == x0) return y0;
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

// Piecewise linear in tokens (time ≈ launch latency + per-token work). Outside the measured
// range the edge segment is extended, but never below proportional scaling from the edge
// point: small token counts cannot be faster than the per-token work alone, and a noisy
// negative slope must not predict shrinking times for more work.
TokenTime time_over_tokens(const std::vector<const OpTiming*>& pts, int64_t tokens) {
  const double t = static_cast<double>(tokens);
  if (!uses_tokens(pts.front()->key.op)) return {pts.front()->seconds, false};
  if (pts.size() == 1) {
    const double t0 = static_cast<double>(pts.front()->key.tokens);
    return {pts.front()->seconds * t / t0, tokens != pts.front()->key.tokens};
  }
  for (size_t i = 0; i + 1 < pts.size(); ++i) {
    const double a = static_cast<double>(pts[i]->key.tokens), b = static_cast<double>(pts[i + 1]->key.tokens);
    if (t >= a && t <= b) return {lerp(a, pts[i]->seconds, b, pts[i + 1]->seconds, t), false};
  }
  const bool below = tokens < pts.front()->key.tokens;
  const OpTiming& edge = below ? *pts.front() : *pts.back();
  const OpTiming& inner = below ? *pts[1] : *pts[pts.size() - 2];
  const double te = static_cast<double>(edge.key.tokens), ti = static_cast<double>(inner.key.tokens);
  const double linear = lerp(te, edge.seconds, ti, inner.seconds, t);
  const double proportional = edge.seconds * t / te;
  const double slope = (edge.seconds - inner.seconds) / (te - ti);
  if (below) return {std::max(linear, proportional), true};
  return {slope > 0 ? linear : proportional, true};
}

// Roofline cost of a key on the measuring device: used only to scale a measured time to a
// nearby unmeasured shape, so only ratios of it matter.
double roofline_cost(const OpKey& key, const CalibrationTable& table) {
  const double flops = op_flops(key), bytes = op_bytes(key, table.precision.element_bytes);
  const double peak_f = table.peaks.gemm_flops_per_s > 0 ? table.peaks.gemm_flops_per_s : 1e12;
  const double peak_b = table.peaks.memory_bytes_per_s > 0 ? table.peaks.memory_bytes_per_s : 1e11;
  return std::max(flops / peak_f, bytes / peak_b);
}

double log_distance(int64_t a, int64_t b) {
  if (a == b) return 0;
  if (a <= 0 || b <= 0) return std::numeric_limits<double>::infinity();
  return std::abs(std::log(static_cast<double>(a) / static_cast<double>(b)));
}

using ShapeId = std::tuple<int64_t, int64_t, int64_t>;  // d_in, d_out, r

std::vector<ShapeId> shapes_of(const std::vector<OpTiming>& rows, OpId op) {
  std::vector<ShapeId> shapes;
  for (const auto& row : rows)
    if (row.key.op == op) shapes.emplace_back(row.key.d_in, row.key.d_out, row.key.r);
  std::sort(shapes.begin(), shapes.end());
  shapes.erase(std::unique(shapes.begin(), shapes.end()), shapes.end());
  return shapes;
}

OpKey with_shape(const OpKey& key, const ShapeId& s) {
  return {key.op, key.tokens, std::get<0>(s), std::get<1>(s), std::get<2>(s)};
}

TokenTime time_at_shape(const std::vector<OpTiming>& rows, const OpKey& key) {
  return time_over_tokens(shape_rows(rows, key), key.tokens);
}

// ---- YAML -------------------------------------------------------------------------------

std::map<std::string, std::string> read_string_map(const YAML::Node& node, const std::string& file,
                                                   const std::string& key) {
  std::map<std::string, std::string> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) throw ConfigError(file, key, "must be a map of names to values " + line_of(node));
  for (const auto& kv : node)
    out[kv.first.Scalar()] = read_string(kv.second, file, key + "." + kv.first.Scalar());
  return out;
}

const YAML::Node required(const YAML::Node& map, const std::string& name, const std::string& file,
                          const std::string& prefix) {
  const std::string key = prefix.empty() ? name : prefix + "." + name;
  if (!map[name]) throw ConfigError(file, key, "missing " + line_of(map));
  return map[name];
}

int64_t read_key_field(const YAML::Node& row, const std::string& name, const std::string& file,
                       const std::string& prefix) {
  if (!row[name]) return 0;
  return read_int_in(row[name], file, prefix + "." + name, 0, std::numeric_limits<int64_t>::max());
}

double read_positive_seconds(const YAML::Node& node, const std::string& file, const std::string& key) {
  const double v = read_double(node, file, key);
  if (!(v > 0) || !std::isfinite(v))
    throw ConfigError(file, key, "must be a positive number of seconds " + line_of(node));
  return v;
}

OpTiming parse_row(const YAML::Node& row, const std::string& file, const std::string& prefix) {
  if (!row.IsMap()) throw ConfigError(file, prefix, "each entry of ops must be a map " + line_of(row));
  check_keys(row,
             {"op", "tokens", "d_in", "d_out", "r", "seconds", "min_s", "max_s", "repeats", "flops", "bytes"},
             file, prefix);
  const std::string name = read_string(required(row, "op", file, prefix), file, prefix + ".op");
  const auto op = op_from_name(name);
  if (!op) throw ConfigError(file, prefix + ".op", "unknown op '" + name + "'; allowed: " + join(op_names()));
  OpTiming t;
  t.key = {*op, read_key_field(row, "tokens", file, prefix), read_key_field(row, "d_in", file, prefix),
           read_key_field(row, "d_out", file, prefix), read_key_field(row, "r", file, prefix)};
  try {
    check_key(t.key);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(file, prefix, std::string(e.what()) + " " + line_of(row));
  }
  t.seconds = read_positive_seconds(required(row, "seconds", file, prefix), file, prefix + ".seconds");
  t.min_s = row["min_s"] ? read_positive_seconds(row["min_s"], file, prefix + ".min_s") : t.seconds;
  t.max_s = row["max_s"] ? read_positive_seconds(row["max_s"], file, prefix + ".max_s") : t.seconds;
  t.repeats = row["repeats"]
                  ? static_cast<int>(read_int_in(row["repeats"], file, prefix + ".repeats", 1, 1 << 30))
                  : 1;
  return t;
}

double read_positive_rate(const YAML::Node& node, const std::string& file, const std::string& key,
                          const std::string& unit) {
  const double v = read_double(node, file, key);
  if (!(v > 0) || !std::isfinite(v))
    throw ConfigError(file, key, "must be a positive number of " + unit + " " + line_of(node));
  return v;
}

// The `host:` section: the CPU figures a run takes instead of the host catalogue's.
HostMeasurement parse_host(const YAML::Node& node, const std::string& file) {
  const std::string p = "host";
  if (!node.IsMap()) throw ConfigError(file, p, "must be a map (see docs/calibration.md) " + line_of(node));
  check_keys(node,
             {"cpu", "cores", "cores_kind", "sockets", "threads_used", "cpu_adam_elements_per_s_per_core",
              "cpu_adam_elements_per_s_all_cores", "mem_bw_bytes_s", "source"},
             file, p);
  HostMeasurement h;
  h.cpu = read_string(required(node, "cpu", file, p), file, p + ".cpu");
  h.cpu_adam_elements_per_s_per_core =
      read_positive_rate(required(node, "cpu_adam_elements_per_s_per_core", file, p), file,
                         p + ".cpu_adam_elements_per_s_per_core", "elements per second");
  h.mem_bw_bytes_s = read_positive_rate(required(node, "mem_bw_bytes_s", file, p), file,
                                        p + ".mem_bw_bytes_s", "bytes per second (the node's)");
  if (node["cpu_adam_elements_per_s_all_cores"])
    h.cpu_adam_elements_per_s_all_cores =
        read_positive_rate(node["cpu_adam_elements_per_s_all_cores"], file,
                           p + ".cpu_adam_elements_per_s_all_cores", "elements per second");
  constexpr int64_t kMaxCount = int64_t{1} << 20;
  if (node["cores"]) h.cores = read_int_in(node["cores"], file, p + ".cores", 1, kMaxCount);
  if (node["sockets"]) h.sockets = read_int_in(node["sockets"], file, p + ".sockets", 1, kMaxCount);
  if (node["threads_used"])
    h.threads_used = read_int_in(node["threads_used"], file, p + ".threads_used", 1, kMaxCount);
  if (node["cores_kind"]) {
    h.cores_kind = read_string(node["cores_kind"], file, p + ".cores_kind");
    if (h.cores_kind != "physical" && h.cores_kind != "logical")
      throw ConfigError(file, p + ".cores_kind",
                        "'" + h.cores_kind + "' is not a kind of core count; allowed: physical, logical");
  }
  if (node["source"]) h.source = read_string(node["source"], file, p + ".source");
  return h;
}

std::string format_double(double v) {
  std::ostringstream os;
  os.precision(6);
  os << v;
  return os.str();
}

void write_host(YAML::Emitter& out, const HostMeasurement& h) {
  out << YAML::Key << "host" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cpu" << YAML::Value << YAML::DoubleQuoted << h.cpu;
  if (h.cores > 0) out << YAML::Key << "cores" << YAML::Value << h.cores;
  if (!h.cores_kind.empty()) out << YAML::Key << "cores_kind" << YAML::Value << h.cores_kind;
  if (h.sockets > 0) out << YAML::Key << "sockets" << YAML::Value << h.sockets;
  if (h.threads_used > 0) out << YAML::Key << "threads_used" << YAML::Value << h.threads_used;
  out << YAML::Key << "cpu_adam_elements_per_s_per_core" << YAML::Value
      << format_double(h.cpu_adam_elements_per_s_per_core);
  if (h.cpu_adam_elements_per_s_all_cores > 0)
    out << YAML::Key << "cpu_adam_elements_per_s_all_cores" << YAML::Value
        << format_double(h.cpu_adam_elements_per_s_all_cores);
  out << YAML::Key << "mem_bw_bytes_s" << YAML::Value << format_double(h.mem_bw_bytes_s);
  if (!h.source.empty()) out << YAML::Key << "source" << YAML::Value << YAML::DoubleQuoted << h.source;
  out << YAML::EndMap;
}

}  // namespace

void CalibrationTable::add(const OpTiming& timing) {
  check_key(timing.key);
  for (auto& row : rows_)
    if (row.key == timing.key) {
      row = timing;
      return;
    }
  rows_.push_back(timing);
}

std::optional<CalibratedTime> CalibrationTable::lookup(const OpKey& key) const {
  const std::vector<ShapeId> shapes = shapes_of(rows_, key.op);
  if (shapes.empty()) return std::nullopt;
  const ShapeId want{key.d_in, key.d_out, key.r};
  if (std::find(shapes.begin(), shapes.end(), want) != shapes.end()) {
    const TokenTime t = time_at_shape(rows_, key);
    return CalibratedTime{t.seconds, t.extrapolated, false};
  }
  // Same (d_in, d_out), other ranks: linear in r between the bracketing ranks (LoRA and the
  // eye-trick GEMMs grow linearly in r).
  std::vector<int64_t> ranks;
  for (const auto& s : shapes)
    if (std::get<0>(s) == key.d_in && std::get<1>(s) == key.d_out) ranks.push_back(std::get<2>(s));
  if (key.r > 0 && ranks.size() >= 2 && key.r > ranks.front() && key.r < ranks.back()) {
    const auto hi = std::upper_bound(ranks.begin(), ranks.end(), key.r);
    const int64_t r1 = *hi, r0 = *(hi - 1);
    const TokenTime t0 = time_at_shape(rows_, with_shape(key, {key.d_in, key.d_out, r0}));
    const TokenTime t1 = time_at_shape(rows_, with_shape(key, {key.d_in, key.d_out, r1}));
    return CalibratedTime{lerp(static_cast<double>(r0), t0.seconds, static_cast<double>(r1), t1.seconds,
                               static_cast<double>(key.r)),
                          t0.extrapolated || t1.extrapolated, false};
  }
  // Otherwise the nearest measured shape (log distance in every key dimension), scaled by the
  // ratio of roofline costs of the two shapes on this device.
  const ShapeId* nearest = nullptr;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& s : shapes) {
    const double dist = log_distance(std::get<0>(s), key.d_in) + log_distance(std::get<1>(s), key.d_out) +
                        log_distance(std::get<2>(s), key.r);
    if (dist < best) best = dist, nearest = &s;
  }
  if (!nearest) return std::nullopt;
  const OpKey from = with_shape(key, *nearest);
  const TokenTime t = time_at_shape(rows_, from);
  const double scale = roofline_cost(key, *this) / roofline_cost(from, *this);
  const bool r_outside = !ranks.empty() && key.r > 0 && (key.r < ranks.front() || key.r > ranks.back());
  return CalibratedTime{t.seconds * scale, t.extrapolated || r_outside, true};
}

std::optional<CalibratedTime> CalibrationTable::lookup(const std::string& op, int64_t tokens, int64_t d_in,
                                                       int64_t d_out, int64_t r) const {
  const auto id = op_from_name(op);
  if (!id) return std::nullopt;
  return lookup(OpKey{*id, tokens, d_in, d_out, r});
}

std::optional<double> CalibrationTable::seconds(const std::string& op, int64_t tokens, int64_t d_in,
                                                int64_t d_out, int64_t r, bool* extrapolated) const {
  const auto t = lookup(op, tokens, d_in, d_out, r);
  if (extrapolated) *extrapolated = t && (t->extrapolated || t->shape_scaled);
  if (!t) return std::nullopt;
  return t->seconds;
}

CalibrationTable parse_calibration(const std::string& yaml_text, const std::string& file) {
  const YAML::Node root = parse_yaml_text(yaml_text, file);
  if (!root.IsMap())
    throw ConfigError(file, "", "a calibration file is a YAML map (see docs/calibration.md)");
  check_keys(
      root, {"zerosim_calibration", "created_utc", "device", "precision", "peaks", "settings", "host", "ops"},
      file, "");
  const int64_t version =
      read_int(required(root, "zerosim_calibration", file, ""), file, "zerosim_calibration");
  if (version != kCalibrationSchemaVersion)
    throw ConfigError(file, "zerosim_calibration",
                      "schema version " + std::to_string(version) +
                          " is not supported; allowed: " + std::to_string(kCalibrationSchemaVersion));
  CalibrationTable table;
  if (root["created_utc"]) table.created_utc = read_string(root["created_utc"], file, "created_utc");

  const YAML::Node dev = required(root, "device", file, "");
  check_keys(dev, {"name", "backend", "kind", "properties", "software"}, file, "device");
  table.device.name = read_string(required(dev, "name", file, "device"), file, "device.name");
  table.device.backend = read_string(required(dev, "backend", file, "device"), file, "device.backend");
  if (table.device.backend != "cuda" && table.device.backend != "cpu")
    throw ConfigError(file, "device.backend",
                      "'" + table.device.backend + "' is not a backend; allowed: cuda, cpu");
  table.device.kind = read_string(required(dev, "kind", file, "device"), file, "device.kind");
  if (table.device.kind != "gpu" && table.device.kind != "cpu")
    throw ConfigError(file, "device.kind",
                      "'" + table.device.kind + "' is not a device kind; allowed: gpu, cpu");
  table.device.properties = read_string_map(dev["properties"], file, "device.properties");
  table.device.software = read_string_map(dev["software"], file, "device.software");

  if (const YAML::Node p = root["precision"]) {
    check_keys(p, {"inputs", "accumulate", "element_bytes"}, file, "precision");
    if (p["inputs"]) table.precision.inputs = read_string(p["inputs"], file, "precision.inputs");
    if (p["accumulate"])
      table.precision.accumulate = read_string(p["accumulate"], file, "precision.accumulate");
    if (p["element_bytes"])
      table.precision.element_bytes =
          static_cast<int>(read_int_in(p["element_bytes"], file, "precision.element_bytes", 1, 8));
  }

  if (root["host"]) table.host = parse_host(root["host"], file);
  table.settings = read_string_map(root["settings"], file, "settings");
  // A host-only file (zerosim-calibrate --host-only) has no ops and needs no peaks; op times need both.
  const YAML::Node ops = root["ops"];
  const bool host_only = table.host && (!ops || (ops.IsSequence() && ops.size() == 0));
  if (!ops && !table.host)
    throw ConfigError(file, "ops", "missing: a calibration file holds timed ops, a host section, or both");
  if (host_only && !root["peaks"]) return table;
  const YAML::Node peaks = required(root, "peaks", file, "");
  check_keys(peaks, {"gemm_flops_per_s", "gemm_shape", "memory_bytes_per_s"}, file, "peaks");
  table.peaks.gemm_flops_per_s =
      read_double(required(peaks, "gemm_flops_per_s", file, "peaks"), file, "peaks.gemm_flops_per_s");
  table.peaks.memory_bytes_per_s =
      read_double(required(peaks, "memory_bytes_per_s", file, "peaks"), file, "peaks.memory_bytes_per_s");
  if (!(table.peaks.gemm_flops_per_s > 0))
    throw ConfigError(file, "peaks.gemm_flops_per_s", "must be positive");
  if (!(table.peaks.memory_bytes_per_s > 0))
    throw ConfigError(file, "peaks.memory_bytes_per_s", "must be positive");
  if (const YAML::Node shape = peaks["gemm_shape"]) {
    if (!shape.IsSequence() || shape.size() != 3)
      throw ConfigError(file, "peaks.gemm_shape", "must be a list [m, n, k] " + line_of(shape));
    for (const auto& v : shape) table.peaks.gemm_shape.push_back(read_int(v, file, "peaks.gemm_shape"));
  }

  if (host_only) return table;
  required(root, "ops", file, "");
  if (!ops.IsSequence()) throw ConfigError(file, "ops", "must be a list of timed operations " + line_of(ops));
  for (size_t i = 0; i < ops.size(); ++i)
    table.add(parse_row(ops[i], file, "ops[" + std::to_string(i) + "]"));
  if (table.rows().empty()) throw ConfigError(file, "ops", "holds no timed operation");
  return table;
}

CalibrationTable load_calibration(const std::string& path) {
  return parse_calibration(read_text_file(path, "calibration file"), path);
}

std::string to_yaml(const CalibrationTable& table) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "zerosim_calibration" << YAML::Value << kCalibrationSchemaVersion;
  out << YAML::Key << "created_utc" << YAML::Value << YAML::DoubleQuoted << table.created_utc;
  auto string_map = [&](const std::map<std::string, std::string>& m) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : m) out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
    out << YAML::EndMap;
  };
  out << YAML::Key << "device" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << table.device.name;
  out << YAML::Key << "backend" << YAML::Value << table.device.backend;
  out << YAML::Key << "kind" << YAML::Value << table.device.kind;
  out << YAML::Key << "properties" << YAML::Value;
  string_map(table.device.properties);
  out << YAML::Key << "software" << YAML::Value;
  string_map(table.device.software);
  out << YAML::EndMap;
  out << YAML::Key << "precision" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "inputs" << YAML::Value << table.precision.inputs;
  out << YAML::Key << "accumulate" << YAML::Value << table.precision.accumulate;
  out << YAML::Key << "element_bytes" << YAML::Value << table.precision.element_bytes;
  out << YAML::EndMap;
  if (table.has_ops()) {
    out << YAML::Key << "peaks" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "gemm_flops_per_s" << YAML::Value << format_double(table.peaks.gemm_flops_per_s);
    if (!table.peaks.gemm_shape.empty())
      out << YAML::Key << "gemm_shape" << YAML::Value << YAML::Flow << table.peaks.gemm_shape;
    out << YAML::Key << "memory_bytes_per_s" << YAML::Value << format_double(table.peaks.memory_bytes_per_s);
    out << YAML::EndMap;
  }
  out << YAML::Key << "settings" << YAML::Value;
  string_map(table.settings);
  if (table.host) write_host(out, *table.host);
  if (!table.has_ops()) {
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
  }
  out << YAML::Key << "ops" << YAML::Value << YAML::BeginSeq;
  for (const auto& row : table.rows()) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "op" << YAML::Value << std::string(op_name(row.key.op));
    out << YAML::Key << "tokens" << YAML::Value << row.key.tokens;
    out << YAML::Key << "d_in" << YAML::Value << row.key.d_in;
    out << YAML::Key << "d_out" << YAML::Value << row.key.d_out;
    out << YAML::Key << "r" << YAML::Value << row.key.r;
    out << YAML::Key << "seconds" << YAML::Value << format_double(row.seconds);
    out << YAML::Key << "min_s" << YAML::Value << format_double(row.min_s);
    out << YAML::Key << "max_s" << YAML::Value << format_double(row.max_s);
    out << YAML::Key << "repeats" << YAML::Value << row.repeats;
    out << YAML::Key << "flops" << YAML::Value << format_double(op_flops(row.key));
    out << YAML::Key << "bytes" << YAML::Value
        << format_double(op_bytes(row.key, table.precision.element_bytes));
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace zerosim::calib
