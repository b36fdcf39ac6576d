// Features the published validation cases need, checked on the step program and the case parser:
// lora_dropout makes DoRA run a second base GEMM (docs/reference/dora-zero.md §1.3-1.4), and case files are
// read as tests/validation/README.md says (units, memory kind, `use:` filtering, errors).
#include <catch2/catch.hpp>

#include "sim/batch/validation_cases.h"
#include "sim/batch/validation_run.h"
#include "test_support.h"
#include "workloads/run_config.h"
#include "workloads/step_program.h"
#include "workloads/units.h"

using namespace zerosim;

namespace {

// LLaMA-2-7B, DoRA r=16 on q_proj only, T = 2·128 tokens.
const char* kDora = R"(
model: llama2-7b
peft: {method: dora, r: 16, alpha: 32, target_modules: [q_proj]}
train: {micro_batch: 2, seq_len: 128, activation_checkpointing: false}
cluster: {gpu: a100-80gb-sxm, gpus: 1}
)";

struct Totals {
  double forward = 0, backward = 0;
  int64_t saved = 0;
};

Totals totals(double dropout) {
  const RunConfig c =
      run_config_from_yaml(YAML::Load(kDora), "dora.yaml", {{"peft.dropout", std::to_string(dropout)}});
  const StepProgram p = build_step_program(c);
  Totals t;
  for (const auto& op : p.forward) t.forward += op.flops, t.saved += op.saved_bytes;
  for (const auto& op : p.backward) t.backward += op.flops;
  return t;
}

}  // namespace

TEST_CASE("lora_dropout > 0: DoRA recomputes the base GEMM on dropout(x), forward and backward",
          "[validation][dora]") {
  const Totals d0 = totals(0.0), d5 = totals(0.05);
  const double T = 256, h = 4096, layers = 32;
  const double base = 2 * T * h * h;  // q_proj: 4096 -> 4096
  // Forward: + one base GEMM and the dropout elementwise (T·d_in) per layer.
  CHECK(d5.forward - d0.forward == Approx(layers * (base + T * h)));
  // Backward: + the recomputed GEMM's dX in every layer whose input needs a gradient (all but layer 0,
  // whose input comes from the frozen embedding), and LoRA's dX through A now that x_d needs one.
  CHECK(d5.backward - d0.backward >= (layers - 1) * base);
  // dropout(x) (bf16) and its mask (1 B) are kept for backward, 3·T·d_in bytes per layer, and x itself no
  // longer is (lora_A reads dropout(x); the frozen base keeps only its weight): 3·T·d_in − 2·T·d_in = T·d_in.
  CHECK(d5.saved - d0.saved == static_cast<int64_t>(layers * T * h));
}

TEST_CASE("case files: memory in GiB or GB, memory kind, use filters the figures", "[validation][cases]") {
  const auto cf = case_file_from_yaml(YAML::Load(R"(
source: test
cases:
- id: a
  run: {model: llama2-7b}
  measured: {peak_memory_gib: 2.0, memory_kind: reserved, samples_per_s: 4.0}
  use: [memory]
- id: b
  run: {model: llama2-7b}
  measured: {peak_memory_gb: 3.0, memory_kind: allocated, step_s: 1.5, mfu: 0.5}
- id: c
  ratio: {numerator: a, denominator: b, metric: step_s}
  measured: {value: 1.2}
- id: d
  collective: {op: all_gather, cluster: {gpu: h100-80gb-sxm, gpus: 8}}
  measured: {busbw_gbps: {1073741824: 355.0}}
)"),
                                      "cases.yaml");
  REQUIRE(cf.cases.size() == 4);
  REQUIRE(cf.cases[0].figures.size() == 1);  // samples_per_s is not in use
  CHECK(cf.cases[0].figures[0].value == 2.0 * kBytesPerGiB);
  CHECK(cf.cases[0].figures[0].unit == "GiB");
  CHECK(cf.cases[1].memory_kind == "allocated");
  REQUIRE(cf.cases[1].figures.size() == 3);  // no use: every figure counts
  CHECK(cf.cases[1].figures[0].value == 3e9);
  CHECK(cf.cases[2].kind == CaseKind::ratio);
  CHECK(cf.cases[3].busbw_gbps.at(1073741824) == 355.0);
  CHECK(cf.cases[3].cluster.size() == 2);
}

TEST_CASE("case files: schema errors name the file and the key", "[validation][cases][errors]") {
  auto error_of = [](const char* yaml) {
    try {
      (void)case_file_from_yaml(YAML::Load(yaml), "bad.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("cases: []").find("key 'source'") != std::string::npos);
  CHECK(error_of("{source: s, cases: [{id: x, run: {}, measured: {peak_memory_gib: -1}}]}")
            .find("cases[0] (x).measured.peak_memory_gib") != std::string::npos);
  CHECK(error_of("{source: s, cases: [{id: x, run: {}, ratio: {}, measured: {value: 1}}]}")
            .find("exactly one") != std::string::npos);
  CHECK(error_of("{source: s, cases: [{id: x, run: {}, measured: {memory_kind: peak}}]}")
            .find("allowed: reserved") != std::string::npos);
  CHECK(error_of("{source: s, cases: [{id: x, ratio: {numerator: a, denominator: b, metric: flops}, "
                 "measured: {value: 1}}]}")
            .find("ratio.metric") != std::string::npos);
}

TEST_CASE("samples/s counts sequences: micro_batch · grad_accum · GPUs per step", "[validation][metrics]") {
  const nlohmann::json sim = {
      {"config", {{"train", {{"micro_batch", 2}, {"grad_accum", 16}}}, {"cluster", {{"gpus", 4}}}}},
      {"time", {{"step_s", 8.0}}},
      {"memory", {{"peak_reserved_bytes", 10}, {"peak_allocated_bytes", 9}}},
      {"throughput", {{"tokens_per_s", 1.0}, {"tokens_per_s_per_gpu", 0.25}, {"mfu", 0.5}}}};
  CHECK(run_metric(sim, "samples_per_s", "") == Approx(2.0 * 16 * 4 / 8.0));
  CHECK(run_metric(sim, "peak_memory", "allocated") == 9);
  CHECK(run_metric(sim, "peak_memory", "unknown") == 10);  // unknown kind: compared as reserved
  CHECK(size_label(67108864) == "64M");
  CHECK(size_label(1000) == "1000");
}

TEST_CASE("optimistic and pessimistic rows: less memory, a faster step, more bandwidth",
          "[validation][metrics]") {
  const auto row = [](const std::string& metric, MetricFamily family, double predicted, double measured) {
    ComparisonRow r;
    r.metric = metric;
    r.family = family;
    r.predicted = predicted;
    r.measured = measured;
    if (metric != "oom") r.error_pct = 100.0 * (predicted - measured) / measured;
    return r;
  };
  CHECK(optimism(row("peak_memory", MetricFamily::memory, 20, 22)) == 1);  // 9% less memory
  CHECK(optimism(row("peak_memory", MetricFamily::memory, 24, 22)) == -1);
  CHECK(optimism(row("oom", MetricFamily::memory, 0, 1)) == 1);        // predicted to fit, ran out of memory
  CHECK(optimism(row("oom", MetricFamily::memory, 1, 1)) == 0);        // both out of memory
  CHECK(optimism(row("step_s", MetricFamily::time, 0.2, 0.24)) == 1);  // a shorter step
  CHECK(optimism(row("step_s", MetricFamily::time, 0.3, 0.24)) == -1);
  CHECK(optimism(row("tokens_per_s", MetricFamily::time, 2500, 2300)) == 1);  // a higher rate
  CHECK(optimism(row("samples_per_s", MetricFamily::time, 2.8, 4.3)) == -1);
  CHECK(optimism(row("mfu", MetricFamily::time, 0.7, 0.64)) == 1);
  CHECK(optimism(row("busbw@1G", MetricFamily::bandwidth, 500, 450)) == 1);  // more bandwidth
  CHECK(optimism(row("ratio:step_s", MetricFamily::ratio, 3.5, 5.7)) == 0);  // neither side

  // score() counts them over the scored rows of each family.
  ValidationReport rep;
  rep.rows = {row("peak_memory", MetricFamily::memory, 20, 22), row("oom", MetricFamily::memory, 0, 1),
              row("peak_memory", MetricFamily::memory, 24, 22), row("step_s", MetricFamily::time, 0.3, 0.24)};
  Expectations e;
  e.tolerance = {{MetricFamily::memory, 0.15}, {MetricFamily::time, 0.25}};
  score(rep, &e);
  CHECK(rep.families.at(MetricFamily::memory).optimistic == 2);
  CHECK(rep.families.at(MetricFamily::memory).pessimistic == 1);
  CHECK(rep.families.at(MetricFamily::time).optimistic == 0);
  CHECK(rep.families.at(MetricFamily::time).pessimistic == 1);
}
