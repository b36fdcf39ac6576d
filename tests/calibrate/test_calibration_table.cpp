// The calibration file: round trip, lookup interpolation/extrapolation, and clear errors.
#include <catch2/catch.hpp>

#include "calibrate/calibration_table.h"
#include "workloads/config_error.h"

using namespace zerosim::calib;

namespace {

CalibrationTable sample() {
  CalibrationTable t;
  t.device = {"Test GPU", "cuda", "gpu", {{"compute_capability", "8.0"}}, {{"cuda_runtime", "13.0"}}};
  t.peaks = {1e14, {8192, 8192, 8192}, 1e12};
  t.created_utc = "2026-01-01T00:00:00Z";
  // linear_fwd 4096→4096: 1 ms at T=1000, 3 ms at T=3000 (time = 1e-6·T)
  t.add({{OpId::linear_fwd, 1000, 4096, 4096, 0}, 1e-3, 0.9e-3, 1.1e-3, 5});
  t.add({{OpId::linear_fwd, 3000, 4096, 4096, 0}, 3e-3, 2.9e-3, 3.1e-3, 5});
  t.add({{OpId::lora_fwd, 1000, 4096, 4096, 8}, 1e-4, 1e-4, 1e-4, 5});
  t.add({{OpId::lora_fwd, 1000, 4096, 4096, 64}, 8e-4, 8e-4, 8e-4, 5});
  t.add({{OpId::dora_weight_norm, 0, 4096, 4096, 16}, 2e-3, 2e-3, 2e-3, 5});
  return t;
}

// Parsing `text` fails with a ConfigError naming cal.yaml and `key`, its message containing `says`.
void expect_error(const std::string& text, const std::string& key, const std::string& says = "") {
  try {
    parse_calibration(text, "cal.yaml");
    FAIL("no error for key " << key);
  } catch (const zerosim::ConfigError& e) {
    CHECK(e.file() == "cal.yaml");
    CHECK(e.key() == key);
    CHECK_THAT(e.what(), Catch::Contains(says));
  }
}

}  // namespace

TEST_CASE("a calibration table survives writing and reading", "[calibration]") {
  const CalibrationTable t = sample();
  const CalibrationTable back = parse_calibration(to_yaml(t), "mem.yaml");
  CHECK(back.device.name == "Test GPU");
  CHECK(back.device.kind == "gpu");
  CHECK(back.device.properties.at("compute_capability") == "8.0");
  CHECK(back.peaks.gemm_flops_per_s == Approx(1e14));
  CHECK(back.peaks.gemm_shape == std::vector<int64_t>{8192, 8192, 8192});
  REQUIRE(back.rows().size() == t.rows().size());
  CHECK(back.rows()[1].seconds == Approx(3e-3));
  CHECK(back.rows()[1].repeats == 5);
}

TEST_CASE("lookup interpolates over tokens and flags extrapolation", "[calibration]") {
  const CalibrationTable t = sample();
  auto exact = t.lookup("linear_fwd", 1000, 4096, 4096, 0);
  REQUIRE(exact);
  CHECK(exact->seconds == Approx(1e-3));
  CHECK_FALSE(exact->extrapolated);
  auto mid = t.lookup("linear_fwd", 2000, 4096, 4096, 0);
  CHECK(mid->seconds == Approx(2e-3));
  CHECK_FALSE(mid->extrapolated);
  auto above = t.lookup("linear_fwd", 5000, 4096, 4096, 0);
  CHECK(above->seconds == Approx(5e-3));
  CHECK(above->extrapolated);
  bool extrapolated = false;
  CHECK(t.seconds("linear_fwd", 500, 4096, 4096, 0, &extrapolated).value() == Approx(0.5e-3));
  CHECK(extrapolated);
  CHECK(t.seconds("weight_norm_of_the_future", 500, 4096, 4096, 0) == std::nullopt);
  CHECK(t.seconds("linear_dx", 1000, 4096, 4096, 0) == std::nullopt);  // op never measured
}

TEST_CASE("lookup interpolates over r and scales to unmeasured shapes", "[calibration]") {
  const CalibrationTable t = sample();
  auto r16 = t.lookup("lora_fwd", 1000, 4096, 4096, 16);
  REQUIRE(r16);
  CHECK(r16->seconds == Approx(1e-4 + (8e-4 - 1e-4) * 8.0 / 56.0));
  CHECK_FALSE(r16->shape_scaled);
  // 4096→8192 is twice the work of 4096→4096: the roofline ratio doubles the measured time.
  auto wider = t.lookup("linear_fwd", 1000, 4096, 8192, 0);
  REQUIRE(wider);
  CHECK(wider->shape_scaled);
  CHECK(wider->seconds == Approx(2e-3).epsilon(0.05));
  // Token-less op keyed on shape only.
  CHECK(t.lookup("dora_weight_norm", 0, 4096, 4096, 16)->seconds == Approx(2e-3));
}

TEST_CASE("bad calibration files name the file and the key", "[calibration]") {
  const std::string good = to_yaml(sample());
  std::string bad_op = good;
  bad_op.replace(bad_op.find("op: linear_fwd"), 14, "op: linear_fwx");
  expect_error(bad_op, "ops[0].op");
  std::string bad_version = good;
  bad_version.replace(bad_version.find("zerosim_calibration: 1"), 22, "zerosim_calibration: 9");
  expect_error(bad_version, "zerosim_calibration");
  std::string bad_seconds = good;
  bad_seconds.replace(bad_seconds.find("seconds: 0.001"), 14, "seconds: -1   ");
  expect_error(bad_seconds, "ops[0].seconds");
  std::string bad_key = good;
  bad_key.replace(bad_key.find("d_in: 4096, d_out: 4096, r: 16"), 30, "d_in: 4096, d_out: 4096, r: 0 ");
  expect_error(bad_key, "ops[4]");
  expect_error("zerosim_calibration: 1\ndevice: {name: x, backend: tpu, kind: gpu}\n", "device.backend");
  expect_error(good + "extra: 1\n", "extra");
}

namespace {
HostMeasurement sample_host() {
  HostMeasurement h;
  h.cpu = "Test EPYC";
  h.cores = 64;
  h.cores_kind = "physical";
  h.sockets = 2;
  h.threads_used = 128;
  h.cpu_adam_elements_per_s_per_core = 1.25e8;
  h.cpu_adam_elements_per_s_all_cores = 3.5e9;
  h.mem_bw_bytes_s = 2.5e11;
  h.source = "measured by a test";
  return h;
}
}  // namespace

TEST_CASE("the host section survives writing and reading; files without one load as before",
          "[calibration]") {
  CalibrationTable t = sample();
  CHECK_FALSE(parse_calibration(to_yaml(t), "mem.yaml").host);  // no section in, none out
  CHECK(to_yaml(t).find("host:") == std::string::npos);
  t.host = sample_host();
  const CalibrationTable back = parse_calibration(to_yaml(t), "mem.yaml");
  REQUIRE(back.host);
  CHECK(back.host->cpu == "Test EPYC");
  CHECK(back.host->cores == 64);
  CHECK(back.host->cores_kind == "physical");
  CHECK(back.host->sockets == 2);
  CHECK(back.host->threads_used == 128);
  CHECK(back.host->cpu_adam_elements_per_s_per_core == Approx(1.25e8));
  CHECK(back.host->cpu_adam_elements_per_s_all_cores == Approx(3.5e9));
  CHECK(back.host->mem_bw_bytes_s == Approx(2.5e11));
  CHECK(back.host->source == "measured by a test");
  CHECK(back.rows().size() == t.rows().size());  // the ops are untouched
}

TEST_CASE("a host-only file has no ops and no peaks; a hand-written section needs three keys",
          "[calibration]") {
  CalibrationTable t;
  t.device = {"Test EPYC", "cpu", "cpu", {}, {}};
  t.host = sample_host();
  const std::string text = to_yaml(t);
  CHECK(text.find("ops:") == std::string::npos);
  CHECK(text.find("peaks:") == std::string::npos);
  const CalibrationTable back = parse_calibration(text, "host.yaml");
  CHECK_FALSE(back.has_ops());
  REQUIRE(back.host);
  CHECK(back.host->mem_bw_bytes_s == Approx(2.5e11));
  // The smallest section a user writes by hand: cpu and the two figures a run uses.
  const CalibrationTable minimal = parse_calibration(
      "zerosim_calibration: 1\ndevice: {name: my box, backend: cpu, kind: cpu}\n"
      "host: {cpu: my box, cpu_adam_elements_per_s_per_core: 1e7, mem_bw_bytes_s: 1.0e11}\nops: []\n",
      "hand.yaml");
  REQUIRE(minimal.host);
  CHECK(minimal.host->cpu_adam_elements_per_s_per_core == Approx(1e7));
  CHECK(minimal.host->cores == 0);  // not stated
  CHECK(minimal.host->cpu_adam_elements_per_s_all_cores == 0);
  CHECK_FALSE(minimal.has_ops());
}

TEST_CASE("bad host sections name the file and the key", "[calibration][errors]") {
  CalibrationTable t = sample();
  t.host = sample_host();
  const std::string good = to_yaml(t);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  expect_error(with("cpu_adam_elements_per_s_per_core: 1.25e+08", "cpu_adam_elements_per_s_per_core: -5"),
               "host.cpu_adam_elements_per_s_per_core", "positive");
  expect_error(with("cpu_adam_elements_per_s_per_core: 1.25e+08", "cpu_adam_elements_per_s_per_core: fast"),
               "host.cpu_adam_elements_per_s_per_core", "fast");
  expect_error(with("mem_bw_bytes_s: 2.5e+11", "mem_bw_bytes_s: 0"), "host.mem_bw_bytes_s", "positive");
  expect_error(with("mem_bw_bytes_s: 2.5e+11", "mem_bw_bytes_s: .inf"), "host.mem_bw_bytes_s", "number");
  expect_error(with("mem_bw_bytes_s: 2.5e+11", "mem_bw_bytes_s: 1e999"), "host.mem_bw_bytes_s", "number");
  expect_error(with("  mem_bw_bytes_s: 2.5e+11\n", ""), "host.mem_bw_bytes_s", "missing");
  expect_error(with("cores_kind: physical", "cores_kind: virtual"), "host.cores_kind", "physical, logical");
  expect_error(with("cores: 64", "cores: 0"), "host.cores", "");
  expect_error(with("threads_used: 128", "threads_used: 1.5"), "host.threads_used", "");
  expect_error(with("sockets: 2", "socket: 2"), "host.socket", "");
  expect_error(to_yaml(sample()) + "host: 7\n", "host", "map");
  // Without ops, the host section is what the file is for: it must be there.
  expect_error("zerosim_calibration: 1\ndevice: {name: x, backend: cpu, kind: cpu}\n", "ops", "missing");
  expect_error("zerosim_calibration: 1\ndevice: {name: x, backend: cpu, kind: cpu}\nops: []\n", "peaks",
               "missing");
}
