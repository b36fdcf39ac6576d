// The shared op list: the names the simulator looks up, and FLOPs against hand-worked numbers
// from docs/reference/dora-zero.md §1.4 (profiler-verified matmul FLOPs of peft's DoRA).
#include <catch2/catch.hpp>
#include <set>

#include "calibrate/op_catalogue.h"

using namespace zerosim::calib;

TEST_CASE("the catalogue holds exactly the op names the step graph emits, plus the composites",
          "[catalogue]") {
  const std::set<std::string> simulator = {"linear_fwd",
                                           "linear_dx",
                                           "linear_dw",
                                           "lora_fwd",
                                           "lora_bwd",
                                           "dora_weight_norm",
                                           "dora_weight_norm_fused",
                                           "dora_combine_fwd",
                                           "dora_combine_bwd",
                                           "rmsnorm_fwd",
                                           "rmsnorm_bwd",
                                           "swiglu_fwd",
                                           "swiglu_bwd",
                                           "rotary_fwd",
                                           "rotary_bwd",
                                           "attention_fwd",
                                           "attention_bwd",
                                           "cross_entropy_fwd",
                                           "cross_entropy_bwd",
                                           "memcpy_d2d"};
  std::set<std::string> found;
  for (const auto& info : op_catalogue())
    if (info.simulator_op) found.emplace(info.name);
  CHECK(found == simulator);
  for (const auto& name : op_names()) CHECK(op_name(*op_from_name(name)) == name);
  CHECK_FALSE(op_from_name("dora_fwd_everything"));
}

TEST_CASE("keys must use exactly the fields an op is keyed on", "[catalogue]") {
  CHECK_NOTHROW(check_key({OpId::dora_weight_norm, 0, 4096, 4096, 16}));
  CHECK_THROWS_AS(check_key({OpId::dora_weight_norm, 512, 4096, 4096, 16}), std::invalid_argument);
  CHECK_THROWS_AS(check_key({OpId::linear_fwd, 512, 4096, 4096, 16}), std::invalid_argument);
  CHECK_THROWS_AS(check_key({OpId::lora_fwd, 512, 4096, 4096, 0}), std::invalid_argument);
  CHECK_THROWS_AS(check_key({OpId::attention_fwd, 1000, 512, 4096, 4096}), std::invalid_argument);
  CHECK_NOTHROW(check_key({OpId::memcpy_d2d, 1 << 20, 0, 0, 0}));
}

TEST_CASE("linear and attention FLOPs", "[catalogue]") {
  CHECK(op_flops({OpId::linear_fwd, 4096, 4096, 4096, 0}) ==
        Approx(1.374e11).epsilon(1e-3));  // DESIGN §3 worked number
  // Causal: 2·T·s·q_dim = half of the dense 4·b·s²·h.
  CHECK(op_flops({
            OpId::attention_fwd,
            4096,
            2048,
            4096,
            4096,
        }) == 2.0 * 4096 * 2048 * 4096);
  CHECK(op_flops({OpId::attention_bwd, 4096, 2048, 4096, 4096}) == 2.5 * 2.0 * 4096 * 2048 * 4096);
}

TEST_CASE("DoRA FLOPs reproduce the profiler's matmul counts (T=256, 512→384, r=8)", "[catalogue]") {
  const int64_t T = 256, di = 512, dout = 384, r = 8;
  // Elementwise terms of each op's sequence, which the matmul profiler does not count.
  const double norm_ew = 4.0 * di * dout + dout;
  const double fwd_ew = norm_ew + 5.0 * T * dout + dout;
  const double bwd_ew = 8.0 * T * dout + 3.0 * dout + T * di;
  const double fwd = op_flops({OpId::dora_fwd, T, di, dout, r}),
               bwd = op_flops({OpId::dora_bwd, T, di, dout, r});
  CHECK(fwd + bwd - fwd_ew - bwd_ew == 219676672.0);
  const double fwd_d = op_flops({OpId::dora_fwd_dropout, T, di, dout, r});
  const double bwd_d = op_flops({OpId::dora_bwd_dropout, T, di, dout, r});
  CHECK(fwd_d + bwd_d - fwd_ew - bwd_ew - 3.0 * T * di == 421003264.0);
  // The eye trick: 2·d_in·r·(d_in + d_out); LLaMA-2-7B down_proj 11008→4096 r=16 ≈ 5.32e9.
  CHECK(op_flops({OpId::dora_weight_norm, 0, 11008, 4096, 16}) - 4.0 * 11008 * 4096 - 4096 ==
        Approx(5.32e9).epsilon(1e-3));
  // The fused norm forms B·A row by row instead: 2·d_in·d_out·r.
  CHECK(op_flops({OpId::dora_weight_norm_fused, 0, 11008, 4096, 16}) <
        op_flops({OpId::dora_weight_norm, 0, 11008, 4096, 16}));
}

TEST_CASE("DoRA weight-norm bytes: peft's passes over d_in² and d_out×d_in tensors", "[catalogue]") {
  // reference §1.4: ≈ b·(2·d_in² + 7·d_in·d_out) beyond LoRA; the fused kernel reads W0 once.
  const double peft = op_bytes({OpId::dora_weight_norm, 0, 4096, 4096, 16}, 2);
  const double fused = op_bytes({OpId::dora_weight_norm_fused, 0, 4096, 4096, 16}, 2);
  CHECK(peft == Approx(2.0 * (2.0 * 4096 * 4096 + 7.0 * 4096 * 4096)).epsilon(2e-3));
  CHECK(peft == 2.0 * (2.0 * 4096 * 4096 + 2.0 * 4096 * 16 + 16.0 * 4096 + 7.0 * 4096 * 4096 + 4.0 * 4096));
  CHECK(fused == Approx(2.0 * 4096 * 4096).epsilon(1e-2));
  CHECK(op_bytes({OpId::memcpy_d2d, 1000, 0, 0, 0}, 2) == 2000);
}
