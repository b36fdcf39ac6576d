// Variable-length batches in time (workloads/micro_step_lengths.h): the length each micro-step of the
// simulated optimizer step runs at, from train.seq_len_distribution, by hand.
#include <catch2/catch.hpp>

#include "tiny_llama.h"
#include "workloads/micro_step_lengths.h"

using namespace zerosim;

TEST_CASE("micro-step lengths: the sorted list in grad_accum equal-count groups, each at its mean",
          "[time][seq_len]") {
  TrainSpec t;
  t.seq_len = 100;
  t.grad_accum = 3;
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{100, 100, 100});  // no distribution
  t.seq_len = 40;
  t.grad_accum = 2;
  t.seq_len_distribution = {10, 40, 20, 30};
  // Sorted 10, 20, 30, 40: groups {10, 20} and {30, 40}, means 15 and 35.
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{15, 35});
  t.grad_accum = 1;
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{25});  // (10 + 20 + 30 + 40) / 4
  t.seq_len_distribution = {10, 11};
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{11});  // 10.5 rounds up
  // Fewer lengths than micro-steps: each length for its share of them.
  t.seq_len_distribution = {10, 30};
  t.grad_accum = 4;
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{10, 10, 30, 30});
  // 5 lengths in 2 groups: ⌊k·5/2⌋ cuts them 2 + 3: {1, 2} → 2 (1.5 up), {3, 4, 5} → 4.
  t.seq_len_distribution = {5, 4, 3, 2, 1};
  t.grad_accum = 2;
  CHECK(micro_step_lengths(t) == std::vector<int64_t>{2, 4});
}

TEST_CASE("micro-step programs: one per distinct length, tokens and useful FLOPs summed", "[time][seq_len]") {
  zerosim::testing::TinyLlama tiny;
  const RunConfig fixed = tiny.config({{"train.grad_accum", "2"}});  // 1 x 32 tokens per micro-step
  const StepProgram p = build_step_program(fixed);
  const MicroStepPrograms none = micro_step_programs(fixed, p);
  CHECK(none.per_micro_step.empty());
  CHECK(none.tokens == 64.0);
  CHECK(none.model_flops == Approx(64.0 * p.model_flops_per_token));
  // Lengths 16 and 32: micro-steps of 16 and 32 tokens, two programs, 48 tokens.
  const RunConfig varying =
      tiny.config({{"train.grad_accum", "2"}, {"train.seq_len_distribution", "[32, 16]"}});
  const MicroStepPrograms two = micro_step_programs(varying, p);
  REQUIRE(two.per_micro_step.size() == 2);
  CHECK(two.distinct.size() == 2);
  CHECK(two.tokens == 48.0);
  CHECK(two.per_micro_step[1]->model_flops_per_token == Approx(p.model_flops_per_token));
  CHECK(two.model_flops ==
        Approx(16.0 * two.per_micro_step[0]->model_flops_per_token + 32.0 * p.model_flops_per_token));
}
