// The host measurement's pieces: DeepSpeedCPUAdam's arithmetic in adam_step against hand-worked steps,
// the triad, the /proc/cpuinfo reader, and the plan --quick picks.
#include <catch2/catch.hpp>
#include <vector>

#include "calibrate/cpu/cpu_info.h"
#include "calibrate/cpu/host_benchmark.h"
#include "calibrate/cpu/host_kernels.h"

using namespace zerosim::calib::cpu;

namespace {
AdamHyperparameters hyper(bool adamw) {
  AdamHyperparameters h;
  h.lr = 0.1f;
  h.beta1 = 0.9f;
  h.beta2 = 0.999f;
  h.eps = 1e-8f;
  h.weight_decay = 0.01f;
  h.adamw_mode = adamw;
  return h;
}
}  // namespace

// The hand-worked numbers are exact decimals; the kernel computes in fp32, as DeepSpeed does. 0.999f is
// 0.99900001, so 1 - beta2 = 9.99987e-4 and 1 - beta2^t carry a relative error of about 1.3e-5: quantities
// built on them (v, bias2_sqrt) are checked to 1e-4, the rest to 1e-6. At step 1 the two errors cancel in
// sqrt(v)·bias2_sqrt.
constexpr double kBeta2Rounding = 1e-4;

TEST_CASE("adam_step: one element, two AdamW steps, as DeepSpeedCPUAdam computes them", "[host]") {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01, p0 = 1, m0 = v0 = 0; grads 0.5, then -0.25.
  float p = 1.0f, m = 0.0f, v = 0.0f;
  const AdamHyperparameters h = hyper(true);
  // Step 1: bias_correction1 = 1 - 0.9 = 0.1, step_size = -0.1/0.1 = -1;
  //         bias2_sqrt = 1/sqrt(1 - 0.999) = 1/sqrt(0.001) = 31.6228; decay = -0.1·0.01 = -0.001.
  AdamStepConstants c = adam_step_constants(h, 1);
  CHECK(c.step_size == Approx(-1.0).epsilon(1e-6));
  CHECK(c.bias2_sqrt == Approx(31.6227766).epsilon(kBeta2Rounding));
  CHECK(c.decay == Approx(-0.001).epsilon(1e-6));
  float g = 0.5f;
  adam_step(&p, &g, &m, &v, 0, 1, c);
  // m = 0.9·0 + 0.1·0.5 = 0.05;  v = 0.999·0 + 0.001·0.25 = 2.5e-4
  // denom = sqrt(2.5e-4)·31.6228 + 1e-8 = 0.0158114·31.6228 + 1e-8 = 0.5 (+1e-8); update = 0.05/0.5 = 0.1
  // p = 1 + 1·(-0.001) = 0.999 (decoupled decay first), then p = 0.999 + 0.1·(-1) = 0.899
  CHECK(m == Approx(0.05).epsilon(1e-6));
  CHECK(v == Approx(2.5e-4).epsilon(kBeta2Rounding));
  CHECK(p == Approx(0.899).epsilon(1e-6));
  // Step 2: bias_correction1 = 1 - 0.81 = 0.19, step_size = -0.1/0.19 = -0.526316;
  //         1 - 0.999² = 0.001999, bias2_sqrt = 1/sqrt(0.001999) = 22.3663.
  c = adam_step_constants(h, 2);
  CHECK(c.step_size == Approx(-0.5263158).epsilon(1e-6));
  CHECK(c.bias2_sqrt == Approx(22.36627).epsilon(kBeta2Rounding));
  g = -0.25f;
  adam_step(&p, &g, &m, &v, 0, 1, c);
  // m = 0.9·0.05 + 0.1·(-0.25) = 0.045 - 0.025 = 0.02
  // v = 0.999·2.5e-4 + 0.001·0.0625 = 2.4975e-4 + 6.25e-5 = 3.1225e-4
  // denom = sqrt(3.1225e-4)·22.3663 + 1e-8 = 0.0176706·22.3663 = 0.395225; update = 0.02/0.395225 = 0.0506040
  // p = 0.899·0.999 = 0.898101, then p = 0.898101 - 0.526316·0.0506040 = 0.898101 - 0.0266337 = 0.871467
  CHECK(m == Approx(0.02).epsilon(1e-6));
  CHECK(v == Approx(3.1225e-4).epsilon(kBeta2Rounding));
  CHECK(p == Approx(0.8714673).epsilon(1e-6));
}

TEST_CASE("adam_step: Adam mode adds the L2 term to the gradient instead", "[host]") {
  float p = 1.0f, m = 0.0f, v = 0.0f, g = 0.5f;
  // g' = 0.5 + 0.01·1 = 0.51; m = 0.051, v = 0.001·0.2601 = 2.601e-4; denom = 0.0161276·31.6228 = 0.51;
  // update = 0.051/0.51 = 0.1; p = 1 - 1·0.1 = 0.9 (no decoupled decay)
  adam_step(&p, &g, &m, &v, 0, 1, adam_step_constants(hyper(false), 1));
  CHECK(m == Approx(0.051).epsilon(1e-6));
  CHECK(v == Approx(2.601e-4).epsilon(kBeta2Rounding));
  CHECK(p == Approx(0.9).epsilon(1e-6));
  CHECK_THROWS(adam_step_constants(hyper(false), 0));
}

TEST_CASE("adam_step updates exactly its range, every element alike, past any vector width", "[host]") {
  // 1000 elements: vector bodies of 16 and 8 and a scalar remainder all run.
  const int n = 1000;
  std::vector<float> p(n, 1.0f), g(n, 0.5f), m(n, 0.0f), v(n, 0.0f);
  adam_step(p.data(), g.data(), m.data(), v.data(), 3, n - 5, adam_step_constants(hyper(true), 1));
  for (int i = 0; i < n; ++i) {
    const bool inside = i >= 3 && i < n - 5;
    INFO("element " << i);
    CHECK(p[i] == Approx(inside ? 0.899 : 1.0).epsilon(1e-6));
    CHECK(m[i] == Approx(inside ? 0.05 : 0.0).epsilon(1e-6));
  }
  CHECK(kAdamBytesPerElement == 16 + 12);
}

TEST_CASE("triad computes a = b + s·c over its range", "[host]") {
  std::vector<float> a(100, -1.0f), b(100, 1.0f), c(100, 2.0f);
  triad(a.data(), b.data(), c.data(), 3.0f, 10, 90);
  CHECK(a[9] == -1.0f);
  CHECK(a[10] == 7.0f);  // 1 + 3·2
  CHECK(a[89] == 7.0f);
  CHECK(a[90] == -1.0f);
  const std::string isa = adam_step_isa();
  CHECK((isa == "avx512f" || isa == "fma" || isa == "baseline" || isa == "portable"));
}

TEST_CASE("/proc/cpuinfo: model, physical cores and sockets, or logical CPUs without topology", "[host]") {
  // 2 sockets x 2 cores x 2 hardware threads = 8 logical CPUs.
  std::string text;
  for (int cpu = 0; cpu < 8; ++cpu)
    text += "processor\t: " + std::to_string(cpu) +
            "\nmodel name\t: Test Xeon 1234\nphysical id\t: " + std::to_string(cpu / 4) +
            "\ncore id\t\t: " + std::to_string((cpu / 2) % 2) + "\n\n";
  const CpuInfo info = parse_cpuinfo(text);
  CHECK(info.model == "Test Xeon 1234");
  CHECK(info.logical == 8);
  CHECK(info.physical_cores == 4);
  CHECK(info.sockets == 2);
  // An ARM guest lists processors without topology: logical CPUs only.
  const CpuInfo arm =
      parse_cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n");
  CHECK(arm.model == "unknown CPU");
  CHECK(arm.logical == 2);
  CHECK(arm.physical_cores == 0);
  CHECK(arm.sockets == 0);
}

TEST_CASE("the host plan: 64 Mi elements, 16 Mi with --quick, at least one warm-up, at most 5 repeats",
          "[host]") {
  const HostBenchmarkPlan full = host_benchmark_plan(false, 0, 10);
  CHECK(full.adam_elements == int64_t{64} << 20);
  CHECK(full.warmup == 1);
  CHECK(full.repeats == 5);
  const HostBenchmarkPlan quick = host_benchmark_plan(true, 1, 3);
  CHECK(quick.adam_elements == int64_t{16} << 20);
  CHECK(quick.triad_elements == int64_t{16} << 20);
  CHECK(quick.repeats == 3);
}
